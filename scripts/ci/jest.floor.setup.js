// Every test file of the floor lane first proves it runs on the floor releases.
for (const [name, expected] of [
  ['aws-cdk-lib', process.env.CDK_FLOOR_VERSION],
  ['constructs', process.env.CONSTRUCTS_FLOOR_VERSION],
]) {
  const actual = require(`${name}/package.json`).version;
  if (actual !== expected) throw new Error(`The floor lane loaded ${name} ${actual}, not ${expected}`);
}
