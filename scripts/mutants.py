#!/usr/bin/env python3
"""Samples mutants of the C sources and says which ones the tests let through.

Each mutant changes one operator on one line (< and <=, > and >=, == and !=, && and ||,
+ 1 and - 1 by one more; with --arithmetic an arithmetic one; with --delete it deletes
one statement), is built in BUILD-DIR and run against the named meson suites;
KILLED: a suite failed (or the build's tests timed out), SURVIVED: all passed. A
survivor is a place to look: a test gap, an equivalent change (a bound that never
meets its edge, a guard another check repeats) or an out-of-bounds access only the
sanitized build sees (run the same mutant there). Every file is restored after its
mutant, on Ctrl-C too, and the build rebuilt at the end.

Usage: scripts/mutants.py [--arithmetic|--delete] SEED COUNT [BUILD-DIR [FOLDERS [SUITES]]]
       scripts/mutants.py --replay LOG [BUILD-DIR [SUITES]]
  --arithmetic: arithmetic operators instead (+ and - between spaces, += and -=, * and /
  between spaces, fminf and fmaxf), for a separate sample; the default set's seeds
  still draw the same mutants
  --delete: statements deleted instead, one a mutant: a one-line statement inside a
  function (a call, an assignment, a one-line if with its body, a break) becomes `;`;
  declarations and plain returns are kept, and the body of a brace-less while loop,
  which would spin until the tests time out
  FOLDERS: comma-separated, default lib,lib/nn; SUITES: default "unit integration oom"
  --replay: the SURVIVED lines of an earlier run's output again (after new tests), each
  found by its text if the line has moved; GONE if the code is no longer there.
  e.g. scripts/mutants.py 1 30 build
       scripts/mutants.py 5 16 build examples examples
       scripts/mutants.py --replay mutants-1.log build
"""
import os
import random
import re
import resource
import subprocess
import sys

OPERATORS = [
    (r'(?<![<>=!])<=(?!=)', '<'), (r'(?<![<>=!-])<(?![<=])', '<='),
    (r'(?<![<>=!-])>=(?!=)', '>'), (r'(?<![<>=!-])>(?![>=])', '>='),
    (r'==', '!='), (r'!=', '=='), (r'&&', '||'), (r'\|\|', '&&'),
    (r'\+ 1\b', '+ 2'), (r'- 1\b', '- 2'),
]
ARITHMETIC = [
    (r'(?<= )\+(?= )', '-'), (r'(?<= )-(?= )', '+'), (r'\+=', '-='), (r'-=', '+='),
    (r'(?<= )\*(?= )', '/'), (r'(?<= )/(?= )', '*'), (r'\bfminf\b', 'fmaxf'),
    (r'\bfmaxf\b', 'fminf'),
]


DECLARATION = re.compile(r'(?:(?:static|const|unsigned|signed|struct|enum)\s+)*[A-Za-z_]\w*'
                         r'(?:\s*\*+\s*|\s+)(?:const\s+)?\**[A-Za-z_]\w*\s*(?:\[[^\]]*\]\s*)*[=;,]')
STATEMENT_KEYWORDS = ('return', 'goto', 'break', 'continue', 'case', 'default', 'else', 'do')


def deletable(code, previous):
    """Whether a code line is one whole statement inside a function that can go."""
    text = code.strip()
    if not text.endswith(';') or '{' in text or '}' in text:
        return False
    first = re.match(r'[A-Za-z_]\w*', text)
    if first and first.group() == 'return':
        return False  # a function's plain return: its value would be undefined
    if DECLARATION.match(text) and not (first and first.group() in STATEMENT_KEYWORDS):
        return False
    return previous.endswith((';', '{', '}', ')', ':', 'else'))  # not a continuation


def limit_file_size():
    """Caps every file the tests write at 2 GiB + 1 MiB (the largest a test makes is a
    sparse 2 GiB + 1 byte): a mutant that writes without end (a write loop's advance
    deleted) then fails at the cap instead of filling the disk, or the memory where the
    temporary folder is a tmpfs (/dev/shm: 24 GB filled once, and the machine stalled)."""
    cap = (2 << 30) + (1 << 20)
    resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))


def hangs(lines, i):
    """Whether line i is the whole body of a brace-less while loop."""
    k = i - 1
    while k > 0 and not lines[k].strip():
        k -= 1
    return re.match(r'while\s*\(.*\)$', lines[k].strip()) is not None


def sites(root, folders, operators=OPERATORS):
    """(path, line index, start, end, replacement) for every operator in code lines;
    operators None: every deletable statement."""
    found = []
    for folder in folders:
        for name in sorted(os.listdir(os.path.join(root, folder))):
            if not name.endswith('.c'):
                continue
            path = os.path.join(root, folder, name)
            with open(path) as f:
                lines = f.read().split('\n')
            depth, previous, in_comment = 0, '', False
            for i, line in enumerate(lines):
                stripped = line.strip()
                if operators is None:  # statements: strings, characters, comments out
                    code = re.sub(r'/\*.*?\*/', ' ', line)
                    code = re.sub(r'"(?:[^"\\]|\\.)*"', '""', code)
                    code = re.sub(r"'(?:[^'\\]|\\.)+'", "' '", code)
                    code = re.sub(r'//.*', '', code)
                    if in_comment:
                        if '*/' not in code:
                            continue
                        code, in_comment = code[code.index('*/') + 2:], False
                    if '/*' in code:
                        code, in_comment = code[:code.index('/*')], True
                    if stripped.startswith('#'):
                        continue
                    if depth > 0 and deletable(code, previous):
                        indent = line[:len(line) - len(line.lstrip())]
                        found.append((path, i, 0, len(line), indent + ';'))
                    depth += code.count('{') - code.count('}')
                    previous = code.strip() or previous
                    continue
                if stripped.startswith(('/*', '*', '//', '#')):
                    continue
                code = re.sub(r'/\*.*?\*/', lambda m: ' ' * len(m.group()), line)
                code = re.sub(r'"[^"]*"', lambda m: ' ' * len(m.group()), code)
                for pattern, replacement in operators:
                    for m in re.finditer(pattern, code):
                        if code[max(0, m.start() - 1):m.end()] == '->':
                            continue
                        found.append((path, i, m.start(), m.end(), replacement))
    return found


def replayed(root, log):
    """The survivors of an earlier run as sites: each replaces its whole line."""
    found = []
    with open(log) as f:
        for entry in f:
            m = re.match(r'SURVIVED (\S+?):(\d+): (.*)  ==>  (.*)$', entry.rstrip('\n'))
            if not m:
                continue
            relative, number, before, after = m.group(1), int(m.group(2)), m.group(3), m.group(4)
            path = os.path.join(root, relative)
            with open(path) as source:
                lines = source.read().split('\n')
            i = number - 1
            if i >= len(lines) or lines[i].strip() != before:
                places = [k for k, line in enumerate(lines) if line.strip() == before]
                if len(places) != 1:
                    print(f'GONE {relative}:{number}: {before}', flush=True)
                    continue
                i = places[0]
            indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
            found.append((path, i, 0, len(lines[i]), indent + after))
    return found


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    operators = OPERATORS
    if sys.argv[1] in ('--arithmetic', '--delete'):
        operators = ARITHMETIC if sys.argv[1] == '--arithmetic' else None
        del sys.argv[1]
        if len(sys.argv) < 3:
            sys.exit(__doc__)
    build = os.path.abspath(sys.argv[3] if len(sys.argv) > 3 else 'build')
    if sys.argv[1] == '--replay':
        suites = (sys.argv[4] if len(sys.argv) > 4 else 'unit integration oom').split()
        candidates = replayed(root, sys.argv[2])
        count = len(candidates)
    else:
        seed, count = int(sys.argv[1]), int(sys.argv[2])
        folders = (sys.argv[4] if len(sys.argv) > 4 else 'lib,lib/nn').split(',')
        suites = (sys.argv[5] if len(sys.argv) > 5 else 'unit integration oom').split()
        candidates = sites(root, folders, operators)
        random.Random(seed).shuffle(candidates)
    test = ['meson', 'test', '-C', build, '--no-rebuild', '--num-processes', '2']
    for suite in suites:
        test += ['--suite', suite]
    done = killed = 0
    try:
        for path, i, start, end, replacement in candidates:
            if done == count:
                break
            with open(path) as f:
                original = f.read()
            lines = original.split('\n')
            line = lines[i]
            if replacement.strip() == ';' and hangs(lines, i):
                continue  # a while loop's only statement: it would spin until the timeout
            lines[i] = line[:start] + replacement + line[end:]
            try:
                with open(path, 'w') as f:
                    f.write('\n'.join(lines))
                if subprocess.run(['ninja', '-C', build], capture_output=True).returncode:
                    continue  # does not compile: not a mutant
                done += 1
                result = subprocess.run(test, capture_output=True, timeout=600,
                                        preexec_fn=limit_file_size)
                verdict = 'KILLED' if result.returncode else 'SURVIVED'
                killed += result.returncode != 0
                print(f'{verdict} {os.path.relpath(path, root)}:{i + 1}: {line.strip()}  ==>  '
                      f'{lines[i].strip()}', flush=True)
            except subprocess.TimeoutExpired:  # done was counted before the run
                killed += 1
                print(f'KILLED (timeout) {os.path.relpath(path, root)}:{i + 1}', flush=True)
            finally:
                with open(path, 'w') as f:
                    f.write(original)
    finally:
        subprocess.run(['ninja', '-C', build], capture_output=True)
    print(f'{killed} of {done} mutants killed')


if __name__ == '__main__':
    main()
