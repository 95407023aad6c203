// Jest reporter of the boot test: one line with the number of checks that passed and failed.
'use strict';

class HostBootSummary {
  onRunComplete(_contexts, results) {
    process.stdout.write(`\nhost boot: ${results.numPassedTests} checks passed, ${results.numFailedTests + results.numRuntimeErrorTestSuites} failed\n`);
  }
}

module.exports = HostBootSummary;
