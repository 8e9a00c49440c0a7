# pii_guard-read: admin_state
# Read-only: the Administrators group found by its SID S-1-5-32-544 (its name is localised),
# its members by SID with their class and scope, the members of each member group (domain
# groups expanded recursively where the domain can be reached; what cannot be read is
# reported, never guessed), the approved accounts resolved the same way, the built-in
# Administrator (SID ending in -500), the local accounts (for LAPS' AdministratorAccountName)
# and the boot time (to know whether a change that needs a restart is in effect).
# Changes nothing; SupportsShouldProcess lets win_powershell run it in check mode (audit runs).
[CmdletBinding(SupportsShouldProcess)]
param (
    [string[]]$Approved = @()
)
$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false
$maxMembers = 200

$adminsSid = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList 'S-1-5-32-544'
$groupName = $adminsSid.Translate([System.Security.Principal.NTAccount]).Value.Split('\')[-1]
$group = [ADSI]"WinNT://$env:COMPUTERNAME/$groupName,group"
$machineSid = (Get-CimInstance -ClassName Win32_UserAccount -Filter "LocalAccount=TRUE" | Select-Object -First 1).SID -replace '-\d+$', ''

function Get-Scope([string]$sid) {
    if ($sid.StartsWith("$machineSid-")) { 'local' }
    elseif ($sid -match '^S-1-5-21-') { 'domain' }
    else { 'wellknown' }
}

function Get-Name([System.Security.Principal.SecurityIdentifier]$sid) {
    try { $sid.Translate([System.Security.Principal.NTAccount]).Value } catch { $sid.Value }
}

function Expand-Group([string]$sid, [string]$scope) {
    # Recursive membership of a group; never throws: an unreachable domain is evidence.
    try {
        if ($scope -eq 'wellknown') {
            return @{ resolved = $false; members = @(); error = 'well-known group: membership is not enumerable' }
        }
        Add-Type -AssemblyName System.DirectoryServices.AccountManagement
        $ctxType = if ($scope -eq 'local') { 'Machine' } else { 'Domain' }
        $ctx = New-Object -TypeName System.DirectoryServices.AccountManagement.PrincipalContext -ArgumentList $ctxType
        $g = [System.DirectoryServices.AccountManagement.GroupPrincipal]::FindByIdentity(
            $ctx, [System.DirectoryServices.AccountManagement.IdentityType]::Sid, $sid)
        if ($null -eq $g) {
            return @{ resolved = $false; members = @(); error = 'group not found' }
        }
        $list = @($g.GetMembers($true) | Select-Object -First ($maxMembers + 1) | ForEach-Object {
                @{ sid = $_.Sid.Value; name = $_.SamAccountName }
            })
        $out = @{ resolved = $true; members = @($list | Select-Object -First $maxMembers); error = $null }
        if ($list.Count -gt $maxMembers) { $out.error = "more than $maxMembers members; list truncated" }
        return $out
    }
    catch {
        return @{ resolved = $false; members = @(); error = $_.Exception.Message }
    }
}

function Get-Entry([System.Security.Principal.SecurityIdentifier]$sid, [string]$class) {
    $scope = Get-Scope $sid.Value
    $e = @{ sid = $sid.Value; name = (Get-Name $sid); class = $class; scope = $scope }
    if ($class -eq 'group') { $e.expansion = Expand-Group $sid.Value $scope }
    $e
}

function Get-Class([System.Security.Principal.SecurityIdentifier]$sid) {
    try {
        $de = [ADSI]"LDAP://<SID=$($sid.Value)>"
        if ($de.objectClass -contains 'group') { return 'group' }
        if ($de.objectClass) { return 'user' }
    }
    catch { $null = $_ }
    try {
        $local = Get-LocalGroup -SID $sid -ErrorAction Stop
        if ($local) { return 'group' }
    }
    catch { $null = $_ }
    'user'
}

$members = @(foreach ($m in @($group.psbase.Invoke('Members'))) {
        $bytes = $m.GetType().InvokeMember('objectSid', 'GetProperty', $null, $m, $null)
        $sid = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $bytes, 0
        $class = try { [string]$m.GetType().InvokeMember('Class', 'GetProperty', $null, $m, $null) } catch { 'user' }
        # Orphaned SIDs (deleted accounts) have no name; Get-Name keeps the SID so they can be removed.
        Get-Entry $sid ($class.ToLowerInvariant())
    })

$resolved = @(foreach ($a in $Approved) {
        try {
            if ($a -match '^S-1-') {
                $s = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $a
            }
            else {
                $n = if ($a.StartsWith('.\')) { "$env:COMPUTERNAME\$($a.Substring(2))" } else { $a }
                $acct = New-Object -TypeName System.Security.Principal.NTAccount -ArgumentList $n
                $s = $acct.Translate([System.Security.Principal.SecurityIdentifier])
            }
            $e = Get-Entry $s (Get-Class $s)
            $e.input = $a
            $e
        }
        catch {
            # Left unresolved: the controller-side planner refuses it, naming the value.
            @{ input = $a; sid = $null; name = $null }
        }
    })

$locals = @(Get-CimInstance -ClassName Win32_UserAccount -Filter "LocalAccount=TRUE")
$builtin = $locals | Where-Object { $_.SID -like 'S-1-5-21-*-500' } | Select-Object -First 1
$Ansible.Result = @{
    group = @{ sid = 'S-1-5-32-544'; name = $groupName }
    members = $members
    approved = $resolved
    builtin_admin = @{ sid = $builtin.SID; name = $builtin.Name; enabled = -not $builtin.Disabled }
    local_users = @($locals | ForEach-Object { @{ sid = $_.SID; name = $_.Name; enabled = -not $_.Disabled } })
    boot_time = (Get-CimInstance -ClassName Win32_OperatingSystem).LastBootUpTime.ToUniversalTime().ToString('o')
}
