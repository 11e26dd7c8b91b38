# Shared by the experiment scripts (sourced; $out must be set).
# run NAME COMMAND...: runs COMMAND with its output in $out/NAME.log, unless that log
# already reports its result (TEST, or DEV for the general denoiser: an interrupted
# script resumes), then prints the result lines.
run() {
  local name=$1; shift
  grep -qE "TEST|^DEV" "$out/$name.log" 2>/dev/null || "$@" > "$out/$name.log" 2>&1
  grep -E "TEST" "$out/$name.log" ||
    { grep -q "^DEV" "$out/$name.log" && sed -n '/^DEV/,/^saved/p' "$out/$name.log"; }
}
