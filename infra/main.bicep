// The SDS classic profile API on Azure Functions Flex Consumption (azd template).
// One resource group: a user-assigned identity, a storage account reached by identity only
// (no keys), the function app, Application Insights, and the Event Grid system topic that feeds
// the blob trigger (its subscription is created after deploy by scripts/post-deploy.*).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment: names the resource group and seeds the resource names.')
param environmentName string

@minLength(1)
@description('Region of every resource; it must offer Flex Consumption.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Tenant whose tokens the API accepts (SDS_TENANT_ID); empty means the tenant of the deployment.')
param sdsTenantId string = ''

@description('App ID URI and/or client id of the API app registration, comma-separated (SDS_AUDIENCE); scripts/entra-app.* sets it.')
param sdsAudience string = ''

@description('JWKS of the token signing keys (SDS_JWKS_URI); empty means the tenant\'s Entra keys.')
param sdsJwksUri string = ''

@description('SDS_MAX_ROWS_PER_FILE: 0 for no limit, 500000 for the original\'s.')
param sdsMaxRowsPerFile string = '0'

@description('SDS_DETAIL_ROWS_PER_MESSAGE: rows kept behind each verification message.')
param sdsDetailRowsPerMessage string = '1000'

@description('SDS_INLINE_VERIFY_MAX_BYTES: uploads up to this size are verified inside start.')
param sdsInlineVerifyMaxBytes string = '268435456'

@description('SDS_UPLOAD_URL_TTL_MINUTES: lifetime of an upload URL.')
param sdsUploadUrlTtlMinutes string = '60'

@description('SDS_SYNC_TARGET: directory (the app\'s tables), schoolDataSync (the tenant\'s new School Data Sync) or directory,schoolDataSync. With schoolDataSync, scripts/graph-permissions.* grants (or prints for an admin) the Microsoft Graph permissions of the app\'s identity.')
@allowed(['directory', 'schoolDataSync', 'directory,schoolDataSync'])
param sdsSyncTarget string = 'schoolDataSync'

@description('SDS_GRAPH_ENDPOINT: Microsoft Graph (national clouds have their own).')
param sdsGraphEndpoint string = 'https://graph.microsoft.com'

@description('Most instances the app may scale out to.')
param maximumInstanceCount string = '40'

@description('Memory of an instance (MB): 2048 verifies and syncs district files of 5M rows (peaks ~0.7 and ~1.3 GiB); 4096 for larger districts.')
@allowed(['2048', '4096'])
param instanceMemoryMB string = '2048'

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = '${abbrs.webSitesFunctions}sds-${resourceToken}'
var deploymentContainerName = 'app-package-${take(resourceToken, 7)}'

// Names the app's code uses (sds_app.settings, sds_app.storage): tests/infra checks they match.
var uploadContainerName = 'sds-uploads'
var stateContainerName = 'sds-state'
var syncQueueName = 'sds-sync'
var syncPoisonQueueName = 'sds-sync-poison'
var syncErrorsTableName = 'sdsSyncErrors'
var directoryTableName = 'sdsdirectory'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}sds-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    containers: [uploadContainerName, stateContainerName, deploymentContainerName]
    uploadContainer: uploadContainerName
    queues: [syncQueueName, syncPoisonQueueName]
    tables: [syncErrorsTableName, directoryTableName]
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    principalId: identity.outputs.principalId
  }
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  dependsOn: [rbac] // the host reaches storage with these roles from its first start
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    maximumInstanceCount: int(maximumInstanceCount)
    instanceMemoryMB: int(instanceMemoryMB)
    appSettings: {
      // Host storage and the app's own clients (sds_app/storage/account.py): identity, no keys.
      AzureWebJobsStorage__accountName: storage.outputs.name
      AzureWebJobsStorage__blobServiceUri: storage.outputs.blobEndpoint
      AzureWebJobsStorage__queueServiceUri: storage.outputs.queueEndpoint
      AzureWebJobsStorage__tableServiceUri: storage.outputs.tableEndpoint
      AzureWebJobsStorage__credential: 'managedidentity'
      AzureWebJobsStorage__clientId: identity.outputs.clientId
      // Flex Consumption runs only the Event Grid blob trigger.
      SDS_BLOB_TRIGGER_SOURCE: 'EventGrid'
      SDS_AUTH_MODE: 'entra'
      SDS_TENANT_ID: empty(sdsTenantId) ? tenant().tenantId : sdsTenantId
      SDS_AUDIENCE: sdsAudience
      SDS_JWKS_URI: sdsJwksUri
      SDS_MAX_ROWS_PER_FILE: sdsMaxRowsPerFile
      SDS_DETAIL_ROWS_PER_MESSAGE: sdsDetailRowsPerMessage
      SDS_INLINE_VERIFY_MAX_BYTES: sdsInlineVerifyMaxBytes
      SDS_UPLOAD_URL_TTL_MINUTES: sdsUploadUrlTtlMinutes
      SDS_SYNC_TARGET: sdsSyncTarget
      SDS_GRAPH_ENDPOINT: sdsGraphEndpoint
      // Graph tokens from the app's user-assigned identity (azure-identity DefaultAzureCredential).
      SDS_GRAPH_AUTH: 'default'
      // Upload sessions only on the cloud's Azure Storage hosts (docs/new-sds-mapping.md).
      SDS_UPLOAD_HOSTS: ''
      AZURE_CLIENT_ID: identity.outputs.clientId
    }
  }
}

module events 'app/events.bicep' = {
  name: 'events'
  scope: rg
  params: {
    name: '${abbrs.eventGridSystemTopics}${resourceToken}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output SERVICE_API_URI string = api.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output SDS_UPLOADS_SYSTEM_TOPIC_NAME string = events.outputs.name
// For scripts/graph-permissions.*: whom the Microsoft Graph application permissions are granted to.
output SDS_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output SDS_SYNC_TARGET string = sdsSyncTarget
