// Worker side of CompileProbe: compiles each constraint it is sent and reports success or the error text.
import { parentPort, workerData } from "node:worker_threads";
import { compileWith } from "./grammar-source.js";
import { type GrammarVocabulary, tokenizerInfoOf } from "./vocabulary.js";
import { loadXGrammar } from "./xgrammar.js";

const xgrammar = await loadXGrammar();
const compiler = await xgrammar.GrammarCompiler.createGrammarCompiler(
  await tokenizerInfoOf(workerData as GrammarVocabulary),
  false,
);
parentPort?.postMessage({ ready: true });
parentPort?.on("message", async ({ id, spec }) => {
  try {
    (await compileWith(compiler, spec)).dispose();
    parentPort?.postMessage({ id });
  } catch (err) {
    parentPort?.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});
