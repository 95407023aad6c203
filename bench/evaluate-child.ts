/**
 * Times evaluate() in a process of its own and prints the result as JSON; bench/run.ts runs it in
 * several fresh processes and keeps the best.
 *
 *   ts-node bench/evaluate-child.ts <seconds>
 */
import { benchEvaluate, decisionFingerprint } from './evaluate';

const seconds = Number(process.argv[2] ?? 3);
const result = benchEvaluate(10_000, seconds);
process.stdout.write(JSON.stringify({ ...result, fingerprint: decisionFingerprint(10_000) }) + '\n');
