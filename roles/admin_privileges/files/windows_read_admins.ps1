# pii_guard-read: admin_state
# Read-only: the Administrators group found by its SID S-1-5-32-544 (its name is localised),
# its members by SID, the approved accounts resolved to SIDs, and the built-in Administrator
# (the local account whose SID ends in -500). Changes nothing; SupportsShouldProcess lets
# win_powershell run it in check mode (audit runs).
[CmdletBinding(SupportsShouldProcess)]
param (
    [string[]]$Approved = @()
)
$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false

$adminsSid = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList 'S-1-5-32-544'
$groupName = $adminsSid.Translate([System.Security.Principal.NTAccount]).Value.Split('\')[-1]
$group = [ADSI]"WinNT://$env:COMPUTERNAME/$groupName,group"

$members = @(foreach ($m in @($group.psbase.Invoke('Members'))) {
        $bytes = $m.GetType().InvokeMember('objectSid', 'GetProperty', $null, $m, $null)
        $sid = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $bytes, 0
        # Orphaned SIDs (deleted accounts) have no name; keep the SID so they can be removed.
        $name = try { $sid.Translate([System.Security.Principal.NTAccount]).Value } catch { $sid.Value }
        @{ sid = $sid.Value; name = $name }
    })

$resolved = @(foreach ($a in $Approved) {
        $sid = $null
        $name = $null
        try {
            if ($a -match '^S-1-') {
                $s = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $a
            }
            else {
                $n = if ($a.StartsWith('.\')) { "$env:COMPUTERNAME\$($a.Substring(2))" } else { $a }
                $acct = New-Object -TypeName System.Security.Principal.NTAccount -ArgumentList $n
                $s = $acct.Translate([System.Security.Principal.SecurityIdentifier])
            }
            $sid = $s.Value
            $name = $s.Translate([System.Security.Principal.NTAccount]).Value
        }
        catch {
            # Left unresolved: the controller-side planner refuses it, naming the value.
            $sid = $null
        }
        @{ input = $a; sid = $sid; name = $name }
    })

$builtin = Get-CimInstance -ClassName Win32_UserAccount -Filter "LocalAccount=TRUE AND SID LIKE 'S-1-5-21-%-500'" |
    Select-Object -First 1
$Ansible.Result = @{
    group = @{ sid = 'S-1-5-32-544'; name = $groupName }
    members = $members
    approved = $resolved
    builtin_admin = @{ sid = $builtin.SID; name = $builtin.Name; enabled = -not $builtin.Disabled }
}
