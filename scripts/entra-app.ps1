# Creates or updates the Microsoft Entra app registration that stands for this API: App ID URI
# api://<client id>, delegated scopes EduAdministration.Read and EduAdministration.ReadWrite, app
# roles EduAdministration.Read.All and EduAdministration.ReadWrite.All; then sets SDS_TENANT_ID
# and SDS_AUDIENCE in the azd environment and, when it exists, on the function app.
# Needs the Azure CLI signed in as someone who may register apps (Application Developer or more).
# Safe to run again: the scope and role ids below are fixed, so it updates what it created.
param(
    # Display name of the registration (default: sds-classic-api-$env:AZURE_ENV_NAME).
    [string]$Name = $(if ($env:AZURE_ENV_NAME) { "sds-classic-api-$($env:AZURE_ENV_NAME)" } else { 'sds-classic-api' }),
    # Do nothing when SDS_AUDIENCE is already set (the azd preprovision hook).
    [switch]$IfMissing,
    # Let the Azure CLI ask for tokens (az account get-access-token): scripts/check.ps1.
    [switch]$AllowAzureCli
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

if ($IfMissing -and $env:SDS_AUDIENCE) {
    Write-Host "SDS_AUDIENCE is set ($($env:SDS_AUDIENCE)): the app registration is left as it is."
    exit 0
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

$ReadScopeId = '16b77345-6f06-4648-bdca-9fe3a38dca8d'
$ReadWriteScopeId = '4a189a16-52d3-459b-9305-fab2f12356c2'
$ReadRoleId = 'ea49c7ff-b6fd-4935-81a1-259e3181683f'
$ReadWriteRoleId = 'd209add9-87a3-439f-901e-688ad35a623a'
$AzureCliAppId = '04b07795-8ddb-461a-bbee-02f9e1bf7b46'
$DefaultAccessRoleId = '00000000-0000-0000-0000-000000000000'

function Invoke-Az {
    # Runs az and stops on failure (native commands do not throw by themselves).
    $output = & az @args
    if ($LASTEXITCODE -ne 0) {
        throw "az $($args -join ' ') failed ($LASTEXITCODE)"
    }
    return $output
}

$graph = (Invoke-Az cloud show --query endpoints.microsoftGraphResourceId --output tsv).TrimEnd('/') + '/v1.0'
$tenant = Invoke-Az account show --query tenantId --output tsv
$bodyFile = New-TemporaryFile

try {
    $appId = Invoke-Az ad app list --display-name $Name --query '[0].appId' --output tsv
    if (-not $appId) {
        $appId = Invoke-Az ad app create --display-name $Name --sign-in-audience AzureADMyOrg --query appId --output tsv
        Write-Host "Created the app registration $Name ($appId)."
    }
    else {
        Write-Host "Updating the app registration $Name ($appId)."
    }
    $objectId = Invoke-Az ad app show --id $appId --query id --output tsv

    $scopes = @(
        [ordered]@{
            id = $ReadScopeId; value = 'EduAdministration.Read'; type = 'Admin'; isEnabled = $true
            adminConsentDisplayName = 'Read School Data Sync profiles'
            adminConsentDescription = 'Lets the app read School Data Sync profiles, their status, errors and verification reports, and the synced directory, as the signed-in user.'
        },
        [ordered]@{
            id = $ReadWriteScopeId; value = 'EduAdministration.ReadWrite'; type = 'Admin'; isEnabled = $true
            adminConsentDisplayName = 'Manage School Data Sync profiles'
            adminConsentDescription = 'Lets the app create, change, start, pause, reset and delete School Data Sync profiles and upload their files, as the signed-in user.'
        }
    )
    $roles = @(
        [ordered]@{
            id = $ReadRoleId; value = 'EduAdministration.Read.All'; allowedMemberTypes = @('Application'); isEnabled = $true
            displayName = 'Read all School Data Sync profiles'
            description = 'Lets the app read every School Data Sync profile and the synced directory, without a signed-in user.'
        },
        [ordered]@{
            id = $ReadWriteRoleId; value = 'EduAdministration.ReadWrite.All'; allowedMemberTypes = @('Application'); isEnabled = $true
            displayName = 'Manage all School Data Sync profiles'
            description = 'Lets the app create, change, start, pause, reset and delete every School Data Sync profile, without a signed-in user.'
        }
    )

    function Update-App([object]$Body) {
        # Microsoft Graph replicates a new application for a few seconds: retry until it sees it.
        $Body | ConvertTo-Json -Depth 10 | Set-Content -Path $bodyFile -Encoding utf8
        for ($attempt = 1; $attempt -le 6; $attempt++) {
            az rest --method PATCH --url "$graph/applications/$objectId" `
                --headers 'Content-Type=application/json' --body "@$bodyFile" --output none
            if ($LASTEXITCODE -eq 0) {
                return
            }
            Write-Host "Retrying the update of $Name ($attempt/6)..."
            Start-Sleep -Seconds 5
        }
        throw "Could not update the app registration $Name"
    }

    Update-App ([ordered]@{
            identifierUris = @("api://$appId")
            api            = [ordered]@{ requestedAccessTokenVersion = 2; oauth2PermissionScopes = $scopes }
            appRoles       = $roles
        })
    if ($AllowAzureCli) {
        # A second update: pre-authorized clients may name only scopes that already exist.
        Update-App ([ordered]@{
                api = [ordered]@{
                    requestedAccessTokenVersion = 2
                    oauth2PermissionScopes      = $scopes
                    preAuthorizedApplications   = @(
                        [ordered]@{ appId = $AzureCliAppId; delegatedPermissionIds = @($ReadScopeId, $ReadWriteScopeId) }
                    )
                }
            })
    }

    $spId = az ad sp show --id $appId --query id --output tsv 2>$null
    if ($LASTEXITCODE -ne 0 -or -not $spId) {
        $spId = Invoke-Az ad sp create --id $appId --query id --output tsv
    }
    # Only users and groups assigned to the API get tokens for it, whatever client they use.
    Invoke-Az ad sp update --id $appId --set appRoleAssignmentRequired=true --output none | Out-Null

    $userId = az ad signed-in-user show --query id --output tsv 2>$null
    if ($LASTEXITCODE -eq 0 -and $userId) {
        $assigned = Invoke-Az rest --method GET --url "$graph/servicePrincipals/$spId/appRoleAssignedTo" `
            --query "length(value[?principalId=='$userId'])" --output tsv
        if ($assigned -eq '0') {
            [ordered]@{ principalId = $userId; resourceId = $spId; appRoleId = $DefaultAccessRoleId } |
                ConvertTo-Json | Set-Content -Path $bodyFile -Encoding utf8
            Invoke-Az rest --method POST --url "$graph/servicePrincipals/$spId/appRoleAssignedTo" `
                --headers 'Content-Type=application/json' --body "@$bodyFile" --output none | Out-Null
            Write-Host "Assigned you (the signed-in user) to $Name."
        }
    }
}
finally {
    Remove-Item -Path $bodyFile -ErrorAction SilentlyContinue
}

$audience = "api://$appId,$appId"
if (Get-Command azd -ErrorAction SilentlyContinue) {
    azd env get-values *> $null
    if ($LASTEXITCODE -eq 0) {
        azd env set SDS_TENANT_ID $tenant
        azd env set SDS_AUDIENCE $audience
        Write-Host 'azd environment: SDS_TENANT_ID and SDS_AUDIENCE set.'
    }
}
if ($env:AZURE_FUNCTION_APP_NAME -and $env:AZURE_RESOURCE_GROUP) {
    az functionapp show --resource-group $env:AZURE_RESOURCE_GROUP --name $env:AZURE_FUNCTION_APP_NAME --output none 2>$null
    if ($LASTEXITCODE -eq 0) {
        Invoke-Az functionapp config appsettings set --resource-group $env:AZURE_RESOURCE_GROUP `
            --name $env:AZURE_FUNCTION_APP_NAME --settings "SDS_TENANT_ID=$tenant" "SDS_AUDIENCE=$audience" --output none | Out-Null
        Write-Host "Function app $($env:AZURE_FUNCTION_APP_NAME): SDS_TENANT_ID and SDS_AUDIENCE set."
    }
}

Write-Host @"

API app registration: $Name
  tenant (SDS_TENANT_ID):    $tenant
  client id:                 $appId
  audience (SDS_AUDIENCE):   $audience
  token scope for clients:   api://$appId/.default
Assign the other users or groups who may call the API in the portal (Enterprise applications >
$Name > Users and groups); daemons need an admin to grant them EduAdministration.*.All.
"@
