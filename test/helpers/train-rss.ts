// Runs `moontrain train ARGS...` in this process and prints its peak resident set (KiB) as JSON,
// for the tests that bound a training run's memory.
import { trainCommand } from '../../lib/cli/train';

trainCommand(process.argv.slice(2)).then((code) => {
  console.log(JSON.stringify({ code, maxRssKiB: process.resourceUsage().maxRSS }));
}, (e: Error) => {
  console.error(e.message);
  process.exitCode = 1;
});
