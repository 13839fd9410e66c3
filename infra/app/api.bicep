// The function app on Flex Consumption (FC1, Linux, Python 3.13), running as the user-assigned
// identity: its deployment package, host storage and telemetry all go through that identity.
param name string
param planName string
param location string
param tags object
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerName string
param applicationInsightsName string
param maximumInstanceCount int
@allowed([512, 2048, 4096])
param instanceMemoryMB int
@description('App settings of the app (identity-based storage, SDS_*); telemetry settings are added here.')
param appSettings object

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: Flex Consumption offers zone redundancy only in some regions; set properties.zoneRedundant where yours does
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: district scripts and integrators call the API from anywhere; every request needs an Entra token
  // checkov:skip=CKV_AZURE_17: clients authenticate with Entra bearer tokens (Graph SDKs send no client certificate)
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales from zero per function; always-ready instances would bill when idle
  // checkov:skip=CKV_AZURE_213: Flex Consumption has no platform health check; GET /beta/health serves probes and monitors
  name: name
  location: location
  // azd finds the service it deploys by this tag (azure.yaml: services.api).
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      // Python 3.13: the newest version Microsoft lists for Flex Consumption (Linux Consumption
      // stops at 3.12), with runtime versioning: requirements.txt pins azure-functions-runtime, the
      // worker library Azure then loads (.ci/lock compiles the app's lock for this version).
      runtime: {
        name: 'python'
        version: '3.13'
      }
    }
  }

  resource settings 'config' = {
    name: 'appsettings'
    properties: union(appSettings, {
      // Not a secret: with local auth off, ingestion needs the identity's Entra token.
      APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    })
  }

  // Deployments authenticate with Entra ID (azd): no publishing passwords.
  resource scmCredentials 'basicPublishingCredentialsPolicies' = {
    name: 'scm'
    properties: {
      allow: false
    }
  }

  resource ftpCredentials 'basicPublishingCredentialsPolicies' = {
    name: 'ftp'
    properties: {
      allow: false
    }
  }
}

output name string = app.name
output uri string = 'https://${app.properties.defaultHostName}'
