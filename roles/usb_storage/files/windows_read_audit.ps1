# pii_guard-read: audit_policy
# Read-only: the audit setting of each given subcategory, looked up by GUID because auditpol
# prints subcategory names in the display language (Japanese on agency terminals).
# Also the boot time (a policy written in this boot is pending_restart) and the present
# devices of the storage, optical and WPD classes that report themselves removable
# (CM_DEVCAP_REMOVABLE), which Windows keeps working when no retroactive policy reaches them.
# SupportsShouldProcess lets win_powershell run it in check mode (audit runs); it changes nothing.
[CmdletBinding(SupportsShouldProcess)]
param (
    [Parameter(Mandatory = $true)][string[]]$Guids
)
$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false

# /backup writes every subcategory with a numeric "Setting Value" (0 none, 1 success,
# 2 failure, 3 both) and fixed English headers, whatever the display language.
$backup = Join-Path $Ansible.Tmpdir 'auditpol.csv'
$null = & auditpol.exe /backup "/file:$backup"
if ($LASTEXITCODE -ne 0) { throw "auditpol /backup failed with exit code $LASTEXITCODE" }
$rows = @(Import-Csv -LiteralPath $backup)

# The localised name win_audit_policy_system expects: first column of /list /v /r, by GUID.
$names = @{}
$list = & auditpol.exe /list /subcategory:* /v /r
if ($LASTEXITCODE -ne 0) { throw "auditpol /list failed with exit code $LASTEXITCODE" }
foreach ($line in @($list | Select-Object -Skip 1 | ConvertFrom-Csv -Header 'Name', 'Guid')) {
    if ($line.Guid) { $names[$line.Guid.Trim().ToUpperInvariant()] = $line.Name.Trim() }
}

$out = @{}
foreach ($guid in $Guids) {
    $key = $guid.ToUpperInvariant()
    $row = $rows | Where-Object { $_.'Subcategory GUID' -and $_.'Subcategory GUID'.ToUpperInvariant() -eq $key } |
        Select-Object -First 1
    $value = if ($row -and $row.'Setting Value' -match '^\d+$') { [int]$row.'Setting Value' } else { 0 }
    $out[$guid] = @{
        name = $names[$key]
        success = [bool]($value -band 1)
        failure = [bool]($value -band 2)
    }
}
$out['boot_time'] = (Get-CimInstance -ClassName Win32_OperatingSystem).LastBootUpTime.ToUniversalTime().ToString('o')
$present = @(Get-PnpDevice -PresentOnly -Class DiskDrive, CDROM, WPD -ErrorAction SilentlyContinue |
        ForEach-Object {
            $cap = (Get-PnpDeviceProperty -InstanceId $_.InstanceId -KeyName DEVPKEY_Device_Capabilities -ErrorAction SilentlyContinue).Data
            @{
                instance_id = $_.InstanceId
                class_guid = [string]$_.ClassGuid
                name = $_.FriendlyName
                removable = [bool]([int64]$cap -band 4)
            }
        })
$out['present_devices'] = $present
$Ansible.Result = $out
