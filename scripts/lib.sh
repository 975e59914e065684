# shellcheck shell=bash
# Shared by scripts/demo and scripts/test (sourced, not run): make a fresh machine ready with Python 3.10+ and
# Java 17+ as the only prerequisites. Installs what is missing through the system's package manager when it
# may (root, or sudo), otherwise stops with the exact command to run.
# Sets PYTHON to the interpreter of the virtualenv to use: the active one ($VIRTUAL_ENV), else the project's .venv/.

MIN_PYTHON=3.10
MIN_JAVA=17

die() {
    echo "Error: $*" >&2
    exit 1
}

# The prefix that runs a command as root: nothing when root, sudo when it can be used, else fails.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        return 0
    elif command -v sudo >/dev/null && { sudo -n true 2>/dev/null || [ -t 0 ]; }; then
        echo sudo
    else
        return 1
    fi
}

# Installs system packages with the package manager found, or stops with the command to run by hand.
# Arguments: what is missing (for the message), then the apt, dnf and brew package names.
system_install() {
    local what=$1 apt_pkg=$2 dnf_pkg=$3 brew_pkg=$4 sudo command
    if command -v apt-get >/dev/null; then
        command="apt-get install -y $apt_pkg"
    elif command -v dnf >/dev/null; then
        command="dnf install -y $dnf_pkg"
    elif command -v brew >/dev/null; then
        echo "Installing $brew_pkg with Homebrew..." >&2
        brew install "$brew_pkg" && return 0
        die "could not install $brew_pkg: run \`brew install $brew_pkg\`"
    else
        die "no apt-get, dnf or brew here: install $apt_pkg (or your system's equivalent) by hand"
    fi
    sudo=$(as_root) || die "$what not found: run \`sudo $command\` (as root), then run this command again"
    echo "Installing ${command##* } with ${command%% *} (once)..." >&2
    if [[ $command == apt-get* ]]; then
        # a fresh machine (or container) may have no package lists yet
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$apt_pkg" >/dev/null ||
            { $sudo apt-get update -q >/dev/null && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$apt_pkg" >/dev/null; } ||
            die "could not install $apt_pkg: run \`sudo $command\`"
    else
        $sudo dnf install -y -q "$dnf_pkg" >/dev/null || die "could not install $dnf_pkg: run \`sudo $command\`"
    fi
}

# "major.minor" of a Python interpreter, or nothing when it does not run.
python_version() {
    "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true
}

version_at_least() {  # version_at_least 3.11 3.10 → true
    [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]
}

# Sets PYTHON: the active virtualenv's, else the project's .venv/ (created with PATH's python3 if needed).
use_virtualenv() {
    if [ -n "${VIRTUAL_ENV:-}" ]; then
        PYTHON="$VIRTUAL_ENV/bin/python"
    else
        # an existing .venv whose base interpreter is gone (or too old) is made again
        if [ -z "$(python_version .venv/bin/python)" ] || ! version_at_least "$(python_version .venv/bin/python)" $MIN_PYTHON; then
            create_venv
        fi
        PYTHON="$PWD/.venv/bin/python"
    fi
    local version
    version=$(python_version "$PYTHON")
    [ -n "$version" ] || die "$PYTHON does not run: recreate the virtualenv"
    version_at_least "$version" $MIN_PYTHON || die "Python $version is too old: velib-replay needs Python $MIN_PYTHON or newer"
}

create_venv() {
    local base version
    base=$(command -v python3) || die "python3 not found: install Python $MIN_PYTHON or newer"
    version=$(python_version "$base")
    version_at_least "$version" $MIN_PYTHON ||
        die "Python $version ($base) is too old: velib-replay needs Python $MIN_PYTHON or newer first on PATH"
    # Debian and Ubuntu split venv's pip bootstrap (ensurepip) into the python3-venv package
    if ! "$base" -c 'import ensurepip' 2>/dev/null; then
        system_install "venv's pip bootstrap (ensurepip)" python3-venv python3 python@"$version"
        "$base" -c 'import ensurepip' 2>/dev/null ||
            die "$base has no ensurepip (venv's pip bootstrap): install python$version-venv, or put another Python first on PATH"
    fi
    echo "Creating the virtualenv .venv/ with $base (Python $version)..." >&2
    rm -rf .venv
    "$base" -m venv .venv || die "could not create .venv/ with $base"
}

# "17" for Java 17.0.x, "8" for 1.8.0_x, nothing when there is no java.
java_major() {
    command -v java >/dev/null || return 0
    java -version 2>&1 | sed -nE '1s/.*version "(1\.)?([0-9]+).*/\2/p'
}

# The newest openjdk-NN-jre-headless (NN ≥ 17) this apt knows, preferring 17.
apt_jre_package() {
    if apt-cache show openjdk-17-jre-headless >/dev/null 2>&1; then
        echo openjdk-17-jre-headless
        return
    fi
    apt-cache search --names-only '^openjdk-[0-9]+-jre-headless$' 2>/dev/null | cut -d' ' -f1 |
        awk -F- -v min=$MIN_JAVA '$2 >= min' | sort -t- -k2,2n | tail -1
}

# Installs a headless Java 17+ when PATH has none.
ensure_java() {
    local major package sudo
    major=$(java_major)
    if [ -n "$major" ] && [ "$major" -ge $MIN_JAVA ]; then
        return
    fi
    if command -v apt-get >/dev/null; then
        package=$(apt_jre_package)
        if [ -z "$package" ] && sudo=$(as_root); then
            $sudo apt-get update -q >/dev/null
            package=$(apt_jre_package)
        fi
    fi
    system_install "Java $MIN_JAVA+" "${package:-openjdk-17-jre-headless}" java-17-openjdk-headless openjdk@17
    # Homebrew's openjdk@17 is keg-only: not on PATH by itself
    if command -v brew >/dev/null && [ -d "$(brew --prefix openjdk@17 2>/dev/null)/bin" ]; then
        PATH="$(brew --prefix openjdk@17)/bin:$PATH"
        export PATH
    fi
    major=$(java_major)
    if [ -z "$major" ] || [ "$major" -lt $MIN_JAVA ]; then
        die "Java $MIN_JAVA+ was installed but \`java\` on PATH is ${major:+Java }${major:-missing}: put the new one first on PATH"
    fi
}

# Installs Debian's chromium for the browser tests when none is on PATH and root (or sudo) is at hand; never fails:
# without a browser those tests skip, loudly, and the rest of the suite runs. Playwright drives this system
# browser: `playwright install` would download one from a CDN that CI cannot reach.
ensure_browser() {
    local sudo
    if command -v chromium >/dev/null || command -v chromium-browser >/dev/null || [ -n "${VELIB_REPLAY_CHROMIUM:-}" ]; then
        return
    fi
    if ! command -v apt-get >/dev/null || ! sudo=$(as_root); then
        echo "Warning: no chromium, and it cannot be installed here: the browser tests will be skipped" \
            "(install it with \`sudo apt-get install chromium\`)" >&2
        return
    fi
    echo "Installing chromium with apt-get (once, for the browser tests)..." >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 ||
        { $sudo apt-get update -q >/dev/null && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1; } ||
        echo "Warning: could not install chromium: the browser tests will be skipped" >&2
}
