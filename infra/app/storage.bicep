// The app's storage account: uploads, state, queues and tables, reached by identity only.
param name string
param location string
param tags object
param containers array
@description('The container of the district\'s uploads (they hold the Password column as uploaded).')
param uploadContainer string
@description('Days an upload is kept after its last change, and a frozen snapshot after it was taken (docs/safety.md).')
@minValue(1)
param uploadRetentionDays int = 30
param queues array
param tables array

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: upload URLs (SAS, create and write only) are used from district networks anywhere
  // checkov:skip=CKV_AZURE_59: the same: SAS uploads need the public endpoint; shared keys and anonymous access are off
  // checkov:skip=CKV_AZURE_206: LRS keeps an idle deployment cheap; uploads are the district's own exports and can be sent again
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    // Upload URLs are user delegation SAS (signed with the identity), so no key is ever needed.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    // District scripts upload from anywhere through the SAS URL.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

// Children declared at the top level with `parent` (not nested): checkov's Bicep parser (pycep)
// does not read a loop as the value of a nested resource.
resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource blobContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for container in containers: {
    parent: blobService
    name: container
    properties: {
      publicAccess: 'None'
    }
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource storageQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queue in queues: {
    parent: queueService
    name: queue
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource storageTables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for table in tables: {
    parent: tableService
    name: table
  }
]

// Storage removes what the app keeps of the uploads once it is older than uploadRetentionDays, by
// container prefix: every blob of the container, the names the app cannot address too (a SAS
// uploader can create `{id}/../x`, which the app never reads or deletes by name).
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'expire-uploads'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: ['blockBlob', 'appendBlob']
              prefixMatch: ['${uploadContainer}/']
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: uploadRetentionDays
                }
              }
              snapshot: {
                delete: {
                  daysAfterCreationGreaterThan: uploadRetentionDays
                }
              }
            }
          }
        }
      ]
    }
  }
}

output name string = account.name
output blobEndpoint string = 'https://${account.name}.blob.${environment().suffixes.storage}'
output queueEndpoint string = 'https://${account.name}.queue.${environment().suffixes.storage}'
output tableEndpoint string = 'https://${account.name}.table.${environment().suffixes.storage}'
