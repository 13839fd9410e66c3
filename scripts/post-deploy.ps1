# azd postdeploy hook: subscribe the blob trigger (function verify_upload) to the BlobCreated
# events of the sds-uploads container. Event Grid validates the webhook when the subscription is
# created, so this runs after deploy, once the app answers. Safe to run again (create or update).
# Outside azd: set $env:AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP, AZURE_FUNCTION_APP_NAME and
# SDS_UPLOADS_SYSTEM_TOPIC_NAME (the outputs of infra/main.bicep), then run it.
# SDS_KEY_ATTEMPTS and SDS_KEY_WAIT_SECONDS (default 30 and 10) bound the wait for a cold app.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$FunctionName = 'verify_upload'
$UploadContainer = 'sds-uploads'
$EventSubscription = 'sds-uploads-verify'
$KeyAttempts = if ($env:SDS_KEY_ATTEMPTS) { [int]$env:SDS_KEY_ATTEMPTS } else { 30 }
$KeyWaitSeconds = if ($env:SDS_KEY_WAIT_SECONDS) { [int]$env:SDS_KEY_WAIT_SECONDS } else { 10 }

foreach ($name in 'AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_GROUP', 'AZURE_FUNCTION_APP_NAME', 'SDS_UPLOADS_SYSTEM_TOPIC_NAME') {
    if (-not [Environment]::GetEnvironmentVariable($name)) {
        Write-Error "$name is not set (run 'azd deploy', or set the outputs of infra/main.bicep)"
        exit 1
    }
}
if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
    Write-Error 'The Azure CLI (az) is required: https://aka.ms/azcli'
    exit 1
}
az account show --output none 2>$null
if ($LASTEXITCODE -ne 0) {
    Write-Error "The Azure CLI is not signed in: run 'az login'"
    exit 1
}

$app = @('--subscription', $env:AZURE_SUBSCRIPTION_ID, '--resource-group', $env:AZURE_RESOURCE_GROUP, '--name', $env:AZURE_FUNCTION_APP_NAME)
# New apps may get a unique default hostname: read it, never build it from the app name.
$hostName = az functionapp show @app --query defaultHostName --output tsv
if ($LASTEXITCODE -ne 0 -or -not $hostName) {
    Write-Error "Function app $($env:AZURE_FUNCTION_APP_NAME) not found"
    exit 1
}

# The host creates the blobs_extension key when it first starts with the blob trigger loaded.
$key = ''
for ($attempt = 1; $attempt -le $KeyAttempts; $attempt++) {
    try {
        Invoke-WebRequest -Uri "https://$hostName/beta/health" -TimeoutSec 30 -UseBasicParsing | Out-Null
    }
    catch {
        # A cold or unhealthy app still starts its host: only the key matters here.
    }
    $key = az functionapp keys list @app --query 'systemKeys.blobs_extension' --output tsv 2>$null
    if ($LASTEXITCODE -eq 0 -and $key) {
        break
    }
    $key = ''
    Write-Host "Waiting for the blobs_extension key of $($env:AZURE_FUNCTION_APP_NAME) ($attempt/$KeyAttempts)..."
    Start-Sleep -Seconds $KeyWaitSeconds
}
if (-not $key) {
    Write-Error "The app has no blobs_extension key yet; check that it started, then run this script again"
    exit 1
}

$endpoint = "https://$hostName/runtime/webhooks/blobs?functionName=Host.Functions.$FunctionName&code=$key"
if ($env:OS -eq 'Windows_NT') {
    # az is az.cmd there: without quotes cmd.exe would split the URL at '&'.
    $endpoint = "`"$endpoint`""
}
az eventgrid system-topic event-subscription create `
    --subscription $env:AZURE_SUBSCRIPTION_ID `
    --resource-group $env:AZURE_RESOURCE_GROUP `
    --system-topic-name $env:SDS_UPLOADS_SYSTEM_TOPIC_NAME `
    --name $EventSubscription `
    --endpoint-type webhook `
    --endpoint $endpoint `
    --included-event-types Microsoft.Storage.BlobCreated `
    --subject-begins-with "/blobServices/default/containers/$UploadContainer/" `
    --output none
if ($LASTEXITCODE -ne 0) {
    exit $LASTEXITCODE
}

Write-Host "Event Grid: BlobCreated in $UploadContainer now reaches $FunctionName on $hostName."
