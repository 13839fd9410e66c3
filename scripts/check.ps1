# The tenant check (docs/check.md): calls POST /beta/schoolDataSync/check on the deployed app and
# prints its short text (or, with -Json, its JSON). Exit 0 when the tenant is ready, 1 when not,
# 2 when the check could not be called.
# Host: $env:SDS_BASE_URL (e.g. http://localhost:7071), else SERVICE_API_URI (azd's output), else
# the function app's defaultHostName read with the Azure CLI from AZURE_SUBSCRIPTION_ID,
# AZURE_RESOURCE_GROUP and AZURE_FUNCTION_APP_NAME (outputs of infra/main.bicep).
# Token: $env:SDS_TOKEN, else the Azure CLI's for the API's scope api://<client id>/.default, the
# client id taken from SDS_AUDIENCE (scripts/entra-app.ps1 -AllowAzureCli lets the CLI ask).
# The signed-in user needs EduAdministration.ReadWrite (the route writes: the dry upload).
param(
    # Also make a check connector, upload three small files, validate them and delete everything
    # made (a run is never started).
    [switch]$DryUpload,
    # Print the JSON answer instead of the short text.
    [switch]$Json
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

function Assert-Az([string]$Why) {
    if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
        Write-Error "The Azure CLI (az) is required ($Why): https://aka.ms/azcli"
        exit 2
    }
    az account show --output none 2>$null
    if ($LASTEXITCODE -ne 0) {
        Write-Error "The Azure CLI is not signed in: run 'az login'"
        exit 2
    }
}

# Values not in the environment are read from the current azd environment (azd env get-value), so
# the script runs as it is after `azd up`.
function Get-AzdValue([string]$Name) {
    if (Get-Command azd -ErrorAction SilentlyContinue) {
        $value = azd env get-value $Name 2>$null
        if ($LASTEXITCODE -eq 0) { return $value }
    }
    return ''
}

$base = if ($env:SDS_BASE_URL) { $env:SDS_BASE_URL } else { $env:SERVICE_API_URI }
if (-not $base) { $base = Get-AzdValue 'SERVICE_API_URI' }
if (-not $base) {
    foreach ($name in 'AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_GROUP', 'AZURE_FUNCTION_APP_NAME') {
        if (-not [Environment]::GetEnvironmentVariable($name)) {
            Write-Error "$name is not set (set SDS_BASE_URL, or the outputs of infra/main.bicep)"
            exit 2
        }
    }
    Assert-Az "to find the app's host name"
    # New apps may get a unique default hostname: read it, never build it from the app name.
    $hostName = az functionapp show --subscription $env:AZURE_SUBSCRIPTION_ID --resource-group $env:AZURE_RESOURCE_GROUP `
        --name $env:AZURE_FUNCTION_APP_NAME --query defaultHostName --output tsv
    if ($LASTEXITCODE -ne 0 -or -not $hostName) {
        Write-Error "Function app $($env:AZURE_FUNCTION_APP_NAME) not found"
        exit 2
    }
    $base = "https://$hostName"
}
$base = $base.TrimEnd('/')

$token = $env:SDS_TOKEN
if (-not $token) {
    $audience = if ($env:SDS_AUDIENCE) { $env:SDS_AUDIENCE } else { Get-AzdValue 'SDS_AUDIENCE' }
    $audience = if ($audience) { ($audience -split ',')[0] } else { '' }
    if (-not $audience) {
        Write-Error 'SDS_AUDIENCE is not set (run scripts/entra-app.ps1, or set SDS_TOKEN)'
        exit 2
    }
    if (-not $audience.StartsWith('api://')) {
        $audience = "api://$audience"
    }
    Assert-Az 'to get a token'
    $token = az account get-access-token --scope "$audience/.default" --query accessToken --output tsv
    if ($LASTEXITCODE -ne 0 -or -not $token) {
        Write-Error "The Azure CLI gave no token for $audience/.default"
        exit 2
    }
}

$body = if ($DryUpload) { '{"dryUpload": true}' } else { '{"dryUpload": false}' }
$accept = if ($Json) { 'application/json' } else { 'text/plain' }
$headers = @{ Authorization = "Bearer $token"; Accept = $accept }
try {
    # The check answers within 120 s (sds_app/check.py CHECK_SECONDS); a cold app takes longer.
    $response = Invoke-WebRequest -Uri "$base/beta/schoolDataSync/check" -Method Post -Headers $headers `
        -ContentType 'application/json' -Body $body -TimeoutSec 200 -UseBasicParsing
}
catch {
    Write-Error "The check could not be called: $($_.Exception.Message)"
    exit 2
}
$text = if ($response.Content -is [byte[]]) {
    [System.Text.Encoding]::UTF8.GetString($response.Content)
}
else {
    [string]$response.Content
}
Write-Output $text.TrimEnd("`n")
if ($Json) {
    $ready = ($text | ConvertFrom-Json).ready -eq $true
}
else {
    $ready = ($text.TrimEnd("`n") -split "`n")[-1] -eq 'Verdict: ready.'
}
if ($ready) { exit 0 } else { exit 1 }
