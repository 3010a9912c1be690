// Runs the CLI on a pseudo-terminal, for what only happens at a terminal (a prompt without echo). Node has no pty
// of its own: Python's pty module makes one. Tests using it skip where python3 is missing.

import { execFile, execFileSync } from 'node:child_process';
import { BIN } from './server-process.ts';

const DRIVER = `
import os, pty, select, sys, time
wait_for, answer = sys.argv[1].encode(), sys.argv[2].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[3], sys.argv[3:])
out = b''
def read_until(done):
    global out
    end = time.time() + 30
    while time.time() < end and not done():
        if select.select([fd], [], [], 0.2)[0]:
            try:
                out += os.read(fd, 4096)
            except OSError:
                return
read_until(lambda: wait_for in out)
os.write(fd, answer + b'\\r')
read_until(lambda: False)
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
`;

export const hasPython = (() => {
  try {
    execFileSync('python3', ['-c', 'import pty'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** The CLI with `args` on a terminal: once its output shows `waitFor`, `answer` is typed and Enter pressed. All it wrote to the terminal. */
export function cliOnTerminal(args: string[], env: NodeJS.ProcessEnv, waitFor: string, answer: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('python3', ['-c', DRIVER, waitFor, answer, process.execPath, BIN, ...args], { env: { ...process.env, ...env } }, (error, stdout) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: stdout });
    });
  });
}
