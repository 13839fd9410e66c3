# azd postprovision hook: give the app's managed identity the Microsoft Graph application
# permissions its calls to the new School Data Sync (Industry Data API) need, the least privileged
# ones of each call. Only with schoolDataSync in SDS_SYNC_TARGET; safe to run again.
# Granting an application permission takes an administrator (Privileged Role Administrator or
# Global Administrator): when the signed-in user may not, the script prints the exact commands
# for one, for the Azure CLI and for Microsoft Graph PowerShell, and ends without error.
# Outside azd: set $env:SDS_SYNC_TARGET and SDS_IDENTITY_PRINCIPAL_ID (outputs of infra/main.bicep).
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$GraphAppId = '00000003-0000-0000-c000-000000000000'
# industry-data.md "Permissions"; sds_app/graph/errors.py names the same ones for a 403.
$Permissions = @(
    'IndustryData-SourceSystem.ReadWrite.All',
    'IndustryData-DataConnector.ReadWrite.All',
    'IndustryData-TimePeriod.ReadWrite.All',
    'IndustryData-InboundFlow.ReadWrite.All',
    'IndustryData.ReadBasic.All',
    'IndustryData-Run.Read.All',
    'IndustryData-Run.Start'
)

$target = if ($env:SDS_SYNC_TARGET) { $env:SDS_SYNC_TARGET } else { 'schoolDataSync' }
if (-not (($target -split ',') -contains 'schoolDataSync')) {
    Write-Host "SDS_SYNC_TARGET is ${target}: no Microsoft Graph permission is needed."
    exit 0
}
if (-not $env:SDS_IDENTITY_PRINCIPAL_ID) {
    Write-Error "SDS_IDENTITY_PRINCIPAL_ID is not set (run 'azd provision', or set the outputs of infra/main.bicep)"
    exit 1
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

$principal = $env:SDS_IDENTITY_PRINCIPAL_ID
$graph = (az cloud show --query endpoints.microsoftGraphResourceId --output tsv).TrimEnd('/') + '/v1.0'
$resource = az ad sp show --id $GraphAppId --query id --output tsv
$assignments = "$graph/servicePrincipals/$principal/appRoleAssignments"
$granted = @(az rest --method GET --url $assignments --query 'value[].appRoleId' --output tsv 2>$null)

$pending = @()
foreach ($permission in $Permissions) {
    $role = az ad sp show --id $GraphAppId --query "appRoles[?value=='$permission'].id | [0]" --output tsv
    if (-not $role) {
        Write-Error "Microsoft Graph offers no application permission $permission in this cloud"
        exit 1
    }
    if ($granted -contains $role) {
        Write-Host "${permission}: already granted."
        continue
    }
    $body = @{ principalId = $principal; resourceId = $resource; appRoleId = $role } | ConvertTo-Json -Compress
    $file = New-TemporaryFile
    Set-Content -Path $file -Value $body -Encoding utf8
    az rest --method POST --url $assignments --headers 'Content-Type=application/json' --body "@$file" --output none 2>$null
    $ok = $LASTEXITCODE -eq 0
    Remove-Item $file
    if ($ok) {
        Write-Host "${permission}: granted."
    }
    else {
        $pending += , @($permission, $role)
    }
}

if ($pending.Count -eq 0) {
    Write-Host "The app's identity $principal has every Microsoft Graph permission the new School Data Sync needs."
    exit 0
}
Write-Host ''
Write-Host 'An administrator (Privileged Role Administrator or Global Administrator) must grant these'
Write-Host "Microsoft Graph application permissions to the app's identity $principal."
Write-Host 'Until then, creating a profile ends in provisioningFailed naming the missing permission.'
Write-Host ''
Write-Host 'With the Azure CLI (az login as the administrator):'
foreach ($entry in $pending) {
    Write-Host "  # $($entry[0])"
    Write-Host "  az rest --method POST --url '$assignments' --headers 'Content-Type=application/json' --body '{""principalId"": ""$principal"", ""resourceId"": ""$resource"", ""appRoleId"": ""$($entry[1])""}'"
}
Write-Host ''
Write-Host 'Or with Microsoft Graph PowerShell (Connect-MgGraph -Scopes AppRoleAssignment.ReadWrite.All,Application.Read.All):'
foreach ($entry in $pending) {
    Write-Host "  # $($entry[0])"
    Write-Host "  New-MgServicePrincipalAppRoleAssignment -ServicePrincipalId $principal -PrincipalId $principal -ResourceId $resource -AppRoleId $($entry[1])"
}
