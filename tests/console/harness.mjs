// What the browser tests share: their settings from the environment, and a
// log of steps with a watchdog that names the step a stuck run was at.

// The environment variable `name`; the run stops (exit 2) when it is unset.
export const env = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`${name} is not set`);
    process.exit(2);
  }
  return v;
};

// Steps logged as `[label] step: …`; a run still going after `watchdogMs`
// fails (exit 1) naming its step. `current()` is the step under way.
export const steps = (label, watchdogMs) => {
  let stepName = 'start';
  setTimeout(() => {
    console.error(`[${label}] FAILED: no end after ${watchdogMs / 60_000} minutes (step "${stepName}")`);
    process.exit(1);
  }, watchdogMs).unref();
  return {
    step: (name) => {
      stepName = name;
      console.log(`[${label}] step: ${name}`);
    },
    current: () => stepName,
  };
};

export const fail = (m) => {
  throw new Error(m);
};
