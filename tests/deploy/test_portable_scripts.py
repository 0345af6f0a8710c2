"""The scripts a user runs work on bash 3.2, the bash macOS ships: no construct that needs bash 4 or later.

No bash 3.2 can be installed here (Debian has none), so this is a static check: each script a user runs from the
docs (and lib.sh, which they source) is searched for the constructs bash 3.2 does not have, comments left out.
Each rule is proven to fire on an example, so the check cannot pass by matching nothing."""

import re

import pytest

from deploylib import ROOT

# What a user runs (README, docs/kind.md, make push/push-spin/push-chart/sbom/sign/verify/up/build/kind-up/kind-down) and what
# those source.
USER_SCRIPTS = (
    "deploy/kind/up.sh",
    "deploy/kind/down.sh",
    "deploy/kind/lib.sh",
    "deploy/kind/e2e.sh",
    "scripts/push.sh",
    "scripts/push-spin.sh",
    "scripts/push-chart.sh",
    "scripts/sbom.sh",
    "scripts/sign.sh",
    "scripts/verify.sh",
    "scripts/up.sh",
    "scripts/build.sh",
    "scripts/lib.sh",
)

# (what, the bash version that added it, pattern, an example it must catch)
RULES = [
    ("nameref (local/declare -n)", "4.3", r"\b(?:local|declare|typeset)\s+(?:-\w+\s+)*-[a-zA-Z]*n", "local -n out=$1"),
    ("associative array (-A)", "4.0", r"\b(?:local|declare|typeset)\s+(?:-\w+\s+)*-[a-zA-Z]*A", "declare -A seen"),
    ("case-converting attribute (-l/-u)", "4.0", r"\b(?:local|declare|typeset)\s+(?:-\w+\s+)*-[a-zA-Z]*[lu]\b", "declare -l name"),
    ("global declare (-g)", "4.2", r"\b(?:local|declare|typeset)\s+(?:-\w+\s+)*-[a-zA-Z]*g", "declare -g X=1"),
    ("mapfile/readarray", "4.0", r"(?:^|[\s;&|(){}])(?:mapfile|readarray)\b", "mapfile -t lines < f"),
    ("negative array subscript", "4.3", r"\$\{[#!]?\w+\[\s*-\s*\d+\s*\]", 'echo "${arr[-1]}"'),
    ("case-changing expansion (${v,,} ${v^^})", "4.0", r"\$\{!?\w+(?:\[[^\]]*\])?(?:\^\^?|,,?)[^}]*\}", 'x="${name,,}"'),
    ("transformation (${v@Q} ...)", "4.4", r"\$\{!?\w+(?:\[[^\]]*\])?@[QEPAaKkULu]\}", 'echo "${v@Q}"'),
    ("case fall-through (;& ;;&)", "4.0", r";;&|(?<!;);&", "  a) x=1 ;&"),
    ("pipe of stderr (|&)", "4.0", r"\|&", "make |& tee log"),
    ("append both streams (&>>)", "4.0", r"&>>", "cmd &>> log"),
    ("coproc", "4.0", r"(?:^|[\s;&|(){}])coproc\b", "coproc cat"),
    ("wait -n", "4.3", r"\bwait\s+-n\b", "wait -n"),
    ("-v test of a variable", "4.2", r"(?:\[\[|\[|\btest)\s+-v\s", '[[ -v NAME ]]'),
    ("brace range with a step or zero padding", "4.0", r"\{-?\d+\.\.-?\d+\.\.-?\d+\}|\{0\d+\.\.\d+\}", "echo {1..9..2}"),
    ("bash 4/5 variable", "4.0+", r"\$\{?(?:BASHPID|EPOCHSECONDS|EPOCHREALTIME|SRANDOM|BASH_ARGV0)\b", "echo $EPOCHSECONDS"),
    ("printf %(...)T", "4.2", r"%\([^)]*\)T", "printf '%(%F)T' -1"),
    (
        "shopt option of bash 4+",
        "4.0+",
        r"\bshopt\s+-s\s+(?:globstar|lastpipe|autocd|checkjobs|direxpand|dirspell|globasciiranges|inherit_errexit"
        r"|localvar_inherit|localvar_unset|assoc_expand_once|patsub_replacement|compat\d+)\b",
        "shopt -s globstar",
    ),
]


def code_lines(text):
    """(number, line) of each line with comments removed (a `#` at the start or after a blank starts one)."""
    for number, line in enumerate(text.splitlines(), 1):
        yield number, re.sub(r"(?:^|\s)#.*$", "", line)


def empty_array_expansions(text):
    """`"${a[@]}"` of an array the script sets to `()`: bash < 4.4 calls it unbound under `set -u` when `a` is
    empty. The portable form is `${a[@]+"${a[@]}"}`."""
    names = set(re.findall(r"(?:^|[\s;(])(\w+)=\(\s*\)", text, re.M))
    found = []
    for number, line in code_lines(text):
        for name in names:
            if re.search(rf'(?:(?<!\+)"|(?<![+"]))\$\{{{name}\[[@*]\]\}}', line):
                found.append(f'{number}: "${{{name}[@]}}" of an array that may be empty (bash < 4.4, set -u): {line.strip()}')
    return found


def bash4_constructs(text):
    found = []
    for number, line in code_lines(text):
        for what, since, pattern, _ in RULES:
            if re.search(pattern, line):
                found.append(f"{number}: {what} needs bash {since}: {line.strip()}")
    return found + empty_array_expansions(text)


@pytest.mark.parametrize("name", USER_SCRIPTS)
def test_user_script_runs_on_bash_3_2(name):
    path = ROOT / name
    assert path.is_file(), f"{name} is gone: update USER_SCRIPTS"
    assert bash4_constructs(path.read_text()) == [], f"{name} is not bash 3.2 clean (macOS)"


def test_user_scripts_use_the_bash_on_path():
    # /usr/bin/env bash: the user's bash (3.2 on macOS, or a newer one from Homebrew), never a fixed /bin/bash 4+.
    for name in USER_SCRIPTS:
        first = (ROOT / name).read_text().split("\n", 1)[0]
        assert first in ("#!/usr/bin/env bash", "# shellcheck shell=bash") or first.startswith("# shellcheck shell=bash"), name


@pytest.mark.parametrize("what, since, pattern, example", RULES, ids=[r[0] for r in RULES])
def test_each_rule_catches_its_construct(what, since, pattern, example):
    assert bash4_constructs(example + "\n"), f"the rule for {what} misses {example!r}"
    assert bash4_constructs(f"# {example}\n") == [], "comments are not code"


def test_empty_array_rule():
    assert empty_array_expansions('missing=()\nfor m in "${missing[@]}"; do :; done\n')
    assert empty_array_expansions('local a=() b\necho ${a[*]}\n')
    assert empty_array_expansions('missing=()\nfor m in ${missing[@]+"${missing[@]}"}; do :; done\n') == []
    assert empty_array_expansions('cmd=(ls -l)\n"${cmd[@]}"\n') == [], "an array set with members is fine"


def test_portable_code_passes():
    # Constructs that look close but are bash 3.2: ${#a[@]}, ${a[@]:1}, ${v//,/ }, ${v: -1}, &>, $'..', +=, [[ =~ ]].
    text = (ROOT / "tests" / "deploy" / "test_portable_scripts.py").read_text()
    sample = re.search(r"PORTABLE = '''\n(.*?)'''", text, re.S).group(1)
    assert bash4_constructs(sample) == []


PORTABLE = '''
n="${#args[@]}"; rest=("${args[@]:1}"); csv="${list//,/ }"; last="${name: -1}"; cmd &>/dev/null
nl=$'\\n'; out+=" x"; [[ "$v" =~ ^[0-9]+$ ]] && printf -v "$var" '%s' "$v"; echo "${#}" "$#"
case "$x" in a) y=1 ;; esac; echo {1..3}; read -r line; local -r ro=1; declare -i count=0
'''
