# Shared by the experiment scripts (sourced; $out must be set).
# run NAME COMMAND...: runs COMMAND with its output in $out/NAME.log, unless that log
# already reports TEST (an interrupted script resumes), then prints the TEST line.
run() {
  local name=$1; shift
  grep -qE "TEST" "$out/$name.log" 2>/dev/null || "$@" > "$out/$name.log" 2>&1
  grep -E "TEST" "$out/$name.log"
}
