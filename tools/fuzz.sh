#!/usr/bin/env bash
# The libFuzzer harnesses of tests/fuzz (the fuzz preset: clang-16, ASan + UBSan).
#
#   tools/fuzz.sh --smoke                  build them and run each briefly from its seeds
#                                          (ctest --preset fuzz); fails if one crashes
#   tools/fuzz.sh --minutes N [HARNESS...] run each harness (default: all) N minutes, one
#                                          at a time, and print executions and coverage
#   tools/fuzz.sh --list                   the harness names
#
# Long runs keep what they find in build/fuzz/corpus/<harness>/ (grown from the seeds in
# tests/fuzz/corpus/<harness>/), their logs in build/fuzz/logs/ and crashing inputs in
# build/fuzz/artifacts/<harness>/. Replay one with build/fuzz/tests/fuzz/fuzz_<harness> FILE.
# Without clang-16 and its fuzzer runtime --smoke only says so: the release build needs neither.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO_ROOT"
BUILD_DIR="$REPO_ROOT/build/fuzz"
HARNESS_DIR="$BUILD_DIR/tests/fuzz"
export CMAKE_BUILD_PARALLEL_LEVEL=2

log() { printf 'fuzz: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
usage() { sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

harnesses() {
    local f
    for f in tests/fuzz/*.cpp; do basename "$f" .cpp; done
}

have_toolchain() {
    command -v clang++-16 >/dev/null &&
        compgen -G "/usr/lib/llvm-16/lib/clang/16/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null
}

build() {
    cmake --preset fuzz >/dev/null
    cmake --build --preset fuzz
}

# "#123456 DONE cov: 812 ft: 2417 corp: 301/40Kb lim: 4096 exec/s: 411 rss: 90Mb" -> fields.
final_stats() {
    local log_file=$1
    local line
    line=$(grep -E '^#[0-9]+[[:space:]].*cov: ' "$log_file" | tail -n 1 || true)
    [[ -n $line ]] || { echo "- - - - -"; return; }
    awk '{
        execs = substr($1, 2)
        for (i = 2; i <= NF; i++) {
            if ($i == "cov:") cov = $(i + 1)
            if ($i == "ft:") ft = $(i + 1)
            if ($i == "corp:") corp = $(i + 1)
            if ($i == "exec/s:") rate = $(i + 1)
        }
        print execs, cov, ft, corp, rate
    }' <<<"$line"
}

long_runs() {
    local minutes=$1
    shift
    local -a names=("$@")
    ((${#names[@]})) || mapfile -t names < <(harnesses)
    build
    mkdir -p "$BUILD_DIR/logs"
    local name rc failed=0
    local -a rows=()
    for name in "${names[@]}"; do
        [[ -x "$HARNESS_DIR/fuzz_$name" ]] || die "no harness fuzz_$name (see --list)"
        local log_file="$BUILD_DIR/logs/$name.log"
        log "$name: ${minutes} min, log in ${log_file#"$REPO_ROOT"/}"
        rc=0
        nice -n 10 "$HARNESS_DIR/fuzz_$name" -max_total_time=$((minutes * 60)) -timeout=10 \
            -rss_limit_mb=2048 -print_final_stats=1 -create_missing_dirs=1 \
            -artifact_prefix="$BUILD_DIR/artifacts/$name/" \
            "$BUILD_DIR/corpus/$name" "tests/fuzz/corpus/$name" >"$log_file" 2>&1 || rc=$?
        local result=ok
        if ((rc != 0)); then
            result="CRASH (exit $rc)"
            failed=1
        fi
        rows+=("$name $(final_stats "$log_file") $result")
    done
    printf '\n%-18s %12s %8s %8s %14s %8s  %s\n' harness executions cov ft corpus exec/s result
    local row
    for row in "${rows[@]}"; do
        # shellcheck disable=SC2086
        set -- $row
        printf '%-18s %12s %8s %8s %14s %8s  %s\n' "$1" "$2" "$3" "$4" "$5" "$6" "${*:7}"
    done
    if ((failed)); then
        log "crashing inputs are in ${BUILD_DIR#"$REPO_ROOT"/}/artifacts/; see the logs"
        return 1
    fi
}

case "${1:-}" in
    --smoke)
        if ! have_toolchain; then
            log "clang-16 or its fuzzer runtime (libclang-rt-16-dev) is missing: fuzz harnesses skipped"
            exit 0
        fi
        build
        ctest --preset fuzz
        ;;
    --minutes)
        [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--minutes needs a whole number of minutes"
        have_toolchain || die "clang-16 and libclang-rt-16-dev are needed (tools/dev.sh setup installs them)"
        minutes=$2
        shift 2
        long_runs "$minutes" "$@"
        ;;
    --list) harnesses ;;
    -h | --help | "") usage ;;
    *) usage >&2; die "unknown option: $1" ;;
esac
