<#
collect-machine.ps1: the Windows twin of collect-machine.sh. Gathers what regaudit needs to tell whether Docker
Desktop on this machine would enforce the organization's Registry Access Management allowlist, into one bundle
folder per machine.

    powershell -ExecutionPolicy Bypass -File collect-machine.ps1 [-OutDir DIR] [-Name NAME]

Writes DIR\NAME\ (default .\regaudit-bundles\<computer name>\), then: regaudit audit DIR --allowlist ...
Reads only configuration files, the policy registry key and the output of read-only docker commands; copies no
secret: config.json is reduced to its registry names and helper names (never `auth`, tokens or passwords), and
`user:password@` is cut out of every URL in every copied text file. Nothing is sent anywhere. Every file is
written as UTF-8 without BOM. See scripts/README.md.

Test overrides: -ProgramData, -AppData, -UserProfile (default from the environment), -HostsFile (default: the
DataBasePath registry value, else %SystemRoot%\System32\drivers\etc\hosts), -PolicyExport (a .reg file to copy
instead of `reg export`), -Docker (the docker CLI), -DesktopVersion, -Now.
#>
[CmdletBinding()]
param(
    [string]$OutDir = ".\regaudit-bundles",
    [string]$Name = $env:COMPUTERNAME,
    [string]$ProgramData = $env:ProgramData,
    [string]$AppData = $env:APPDATA,
    [string]$UserProfile = $env:USERPROFILE,
    [string]$HostsFile = "",
    [string]$PolicyExport = "",
    [string]$Docker = "docker",
    [string]$DesktopVersion = "",
    [string]$Now = ""
)

$ErrorActionPreference = "Stop"
$CollectorVersion = 1
if (-not $Name -or $Name -match '[\\/]' -or $Name -eq "." -or $Name -eq "..") {
    [Console]::Error.WriteLine("collect-machine: invalid machine name: $Name"); exit 2
}
$Bundle = Join-Path $OutDir $Name
New-Item -ItemType Directory -Force -Path $Bundle | Out-Null
# .NET file calls resolve relative paths against the process directory, not PowerShell's location: use full paths
$Bundle = (Resolve-Path -LiteralPath $Bundle).ProviderPath
$Utf8 = New-Object System.Text.UTF8Encoding $false
$Collected = New-Object System.Collections.Generic.List[string]
$Missing = New-Object System.Collections.Generic.List[string]

function Scrub([string]$Text) {  # URLs lose any user:password@ (proxy settings may carry credentials)
    return [regex]::Replace($Text, '(://)[^/@"\s]*@', '$1')
}

function Write-BundleFile([string]$Target, [string]$Text) {
    [System.IO.File]::WriteAllText((Join-Path $Bundle $Target), $Text, $Utf8)
}

function Copy-Text([string]$Source, [string]$Target) {  # a text file, scrubbed, re-encoded as UTF-8 (no BOM)
    if ($Source -and (Test-Path -LiteralPath $Source -PathType Leaf)) {
        try {
            $Full = (Resolve-Path -LiteralPath $Source).ProviderPath
            Write-BundleFile $Target (Scrub ([System.IO.File]::ReadAllText($Full)))
            $Collected.Add($Target); return $true
        } catch { }
    }
    $Missing.Add($Target); return $false
}

# -- enforced sign-in and Settings Management (desktop.md §2.1, §5.1, §6.1) --------------------------------
$DesktopData = Join-Path $ProgramData "DockerDesktop"
Copy-Text (Join-Path $DesktopData "registry.json") "registry.json" | Out-Null
Copy-Text (Join-Path $DesktopData "admin-settings.json") "admin-settings.json" | Out-Null
Copy-Text (Join-Path $AppData "Docker\settings-store.json") "settings-store.json" | Out-Null
Copy-Text (Join-Path $AppData "Docker\settings.json") "settings.json" | Out-Null

# The policy key HKLM\SOFTWARE\Policies\Docker\Docker Desktop (allowedOrgs, REG_MULTI_SZ), as a .reg export.
$PolicyTarget = Join-Path $Bundle "docker-desktop-policy.reg"
if ($PolicyExport) {
    Copy-Text $PolicyExport "docker-desktop-policy.reg" | Out-Null
} elseif (Test-Path "HKLM:\SOFTWARE\Policies\Docker\Docker Desktop") {
    & reg.exe export "HKLM\SOFTWARE\Policies\Docker\Docker Desktop" "$PolicyTarget.tmp" /y | Out-Null
    if ($LASTEXITCODE -eq 0) {  # reg export writes UTF-16; the bundle keeps UTF-8
        Write-BundleFile "docker-desktop-policy.reg" ([System.IO.File]::ReadAllText("$PolicyTarget.tmp"))
        Remove-Item -LiteralPath "$PolicyTarget.tmp"
        $Collected.Add("docker-desktop-policy.reg")
    } else { $Missing.Add("docker-desktop-policy.reg") }
} else { $Missing.Add("docker-desktop-policy.reg") }

# Hosts file: its folder comes from Tcpip\Parameters DataBasePath (desktop.md §10 [S37]).
if (-not $HostsFile) {
    $HostsDir = $null
    try {
        $HostsDir = (Get-ItemProperty "HKLM:\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters").DataBasePath
    } catch { }
    if (-not $HostsDir) { $HostsDir = Join-Path $env:SystemRoot "System32\drivers\etc" }
    $HostsFile = Join-Path ([Environment]::ExpandEnvironmentVariables($HostsDir)) "hosts"
}
Copy-Text $HostsFile "hosts" | Out-Null

$DockerDir = if ($env:DOCKER_CONFIG) { $env:DOCKER_CONFIG } else { Join-Path $UserProfile ".docker" }
Copy-Text (Join-Path $DockerDir "daemon.json") "daemon.json" | Out-Null
Copy-Text (Join-Path $ProgramData "Docker\config\daemon.json") "windows-daemon.json" | Out-Null

# -- config.json without its secrets: registry names, helper names, current context, proxies (scrubbed) ----
$ConfigPath = Join-Path $DockerDir "config.json"
if (Test-Path -LiteralPath $ConfigPath -PathType Leaf) {
    try {
        $Config = [System.IO.File]::ReadAllText((Resolve-Path -LiteralPath $ConfigPath).ProviderPath) | ConvertFrom-Json
        $Kept = [ordered]@{}
        if ($Config.auths) {
            $Auths = [ordered]@{}
            foreach ($Key in $Config.auths.PSObject.Properties.Name) { $Auths[$Key] = @{} }
            $Kept["auths"] = $Auths
        }
        if ($Config.credHelpers) {
            $Helpers = [ordered]@{}
            foreach ($P in $Config.credHelpers.PSObject.Properties) { $Helpers[$P.Name] = [string]$P.Value }
            $Kept["credHelpers"] = $Helpers
        }
        foreach ($Key in @("credsStore", "currentContext")) {
            if ($Config.$Key -is [string]) { $Kept[$Key] = $Config.$Key }
        }
        if ($Config.proxies) {
            $Proxies = [ordered]@{}
            foreach ($P in $Config.proxies.PSObject.Properties) {
                $Entry = [ordered]@{}
                foreach ($Q in $P.Value.PSObject.Properties) { $Entry[$Q.Name] = Scrub ([string]$Q.Value) }
                $Proxies[$P.Name] = $Entry
            }
            $Kept["proxies"] = $Proxies
        }
        Write-BundleFile "config.json" (($Kept | ConvertTo-Json -Depth 5) + "`n")
        $Collected.Add("config.json")
    } catch { $Missing.Add("config.json (unreadable)") }
} else { $Missing.Add("config.json") }

# -- read-only docker commands (desktop.md §8) ---------------------------------------------------------------
function Invoke-Docker([string]$Target, [string[]]$Arguments) {
    # keep the output when there is any (`docker version` exits 1 without an engine but prints the client half)
    $ErrorActionPreference = "Continue"  # a native command's stderr must not end the run (Windows PowerShell 5.1)
    $Saved = $env:DOCKER_CONFIG
    $env:DOCKER_CONFIG = $DockerDir
    try { $Output = (& $Docker @Arguments 2>$null) -join "`n" } catch { $Output = "" }
    finally { $env:DOCKER_CONFIG = $Saved }
    if ($Output.Trim()) { Write-BundleFile $Target (Scrub $Output); $Collected.Add($Target); return $true }
    return $false
}

if (Get-Command $Docker -ErrorAction SilentlyContinue) {
    if (-not (Invoke-Docker "docker-version.json" @("version", "--format", "json"))) {
        if (-not (Invoke-Docker "docker-version.txt" @("version"))) { $Missing.Add("docker-version") } }
    if (-not (Invoke-Docker "docker-info.json" @("info", "--format", "json"))) {
        if (-not (Invoke-Docker "docker-info.txt" @("info"))) { $Missing.Add("docker-info") } }
    if (-not (Invoke-Docker "buildx-ls.json" @("buildx", "ls", "--format", "json"))) {
        if (-not (Invoke-Docker "buildx-ls.txt" @("buildx", "ls"))) { $Missing.Add("buildx-ls") } }
    if (-not (Invoke-Docker "docker-context-ls.json" @("context", "ls", "--format", "json"))) {
        $Missing.Add("docker-context-ls") }
} else { $Missing.Add("docker commands ($Docker not found)") }

# -- the installed Docker Desktop version, for when the engine is not running ------------------------------
if (-not $DesktopVersion) {
    $Exe = Join-Path $env:ProgramFiles "Docker\Docker\Docker Desktop.exe"
    if ($env:ProgramFiles -and (Test-Path -LiteralPath $Exe)) {
        $DesktopVersion = (Get-Item -LiteralPath $Exe).VersionInfo.ProductVersion
    }
}
$DesktopVersion = ($DesktopVersion -replace '[^0-9A-Za-z.+~-]', '')

if (-not $Now) { $Now = (Get-Date).ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'") }
$Manifest = [ordered]@{
    regaudit_machine_bundle = 1
    collector = "collect-machine.ps1 $CollectorVersion"
    machine = $Name
    platform = "windows"
    collected_at = $Now
}
if ($DesktopVersion) { $Manifest["desktop_version"] = $DesktopVersion }
$Manifest["collected"] = @($Collected)
$Manifest["not_found"] = @($Missing)
Write-BundleFile "regaudit-machine.json" (($Manifest | ConvertTo-Json -Depth 3) + "`n")
Write-Output "collect-machine: wrote $Bundle ($($Collected.Count) files)"
