// Event Grid system topic of the storage account. Its subscription (BlobCreated in sds-uploads,
// to the blob trigger's webhook) needs the deployed app's blobs_extension key, so the azd
// postdeploy hook creates it: scripts/post-deploy.sh and .ps1.
param name string
param location string
param tags object
param storageAccountName string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

output name string = topic.name
