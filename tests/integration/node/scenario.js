'use strict';
/*
 * Drives the Nacos Node.js SDK (npm `nacos`, which bundles nacos-config and nacos-naming and speaks the
 * HTTP v1 open API) against a server, printing one JSON line per step on stdout. Run by
 * tests/integration/test_node_sdk.py, which asserts on every line.
 *
 *   node scenario.js <host:port> [username] [password]      (or NACOS_ADDR / NACOS_USERNAME / NACOS_PASSWORD)
 *   SCENARIO_ID   a unique suffix for dataIds and service names (default: the pid)
 *   SCENARIO_DIR  where the config client keeps its snapshot cache (default: a temp dir)
 *   NODE_PATH     must let require('nacos') resolve (the test points it at <repo>/.cache/node-nacos/node_modules)
 *
 * stdout lines are {"step": name, "ok": bool, ...} or, once, {"signal": "READY_FOR_HTTP_PUBLISH", dataId, group}:
 * the caller then publishes that config over plain HTTP and writes the content it published, as one JSON string
 * line, on stdin; the subscribed listener must receive exactly that within 5 s. The SDK's own logs go to stderr.
 */
const os = require('os');
const path = require('path');
const readline = require('readline');
const util = require('util');
const { NacosConfigClient, NacosNamingClient } = require('nacos');

const addr = process.argv[2] || process.env.NACOS_ADDR;
const username = process.argv[3] || process.env.NACOS_USERNAME || '';
const password = process.argv[4] || process.env.NACOS_PASSWORD || '';
const id = process.env.SCENARIO_ID || String(process.pid);
const workDir = process.env.SCENARIO_DIR || path.join(os.tmpdir(), `nacos-node-scenario-${id}`);
if (!addr) {
  process.stderr.write('usage: node scenario.js <host:port> [username] [password]\n');
  process.exit(2);
}
const credentials = username ? { username, password } : {};
const NODE_VALUE = 'v=2 from node: 中文 ✓';

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function describe(err) {
  return `${err && err.name}: ${err && err.message}${err && err.body ? ` body=${err.body}` : ''}`;
}

/** Runs one step: `fn` returns the fields to report; a throw reports ok=false and stops the group. */
async function step(name, fn) {
  const started = Date.now();
  try {
    const fields = await fn();
    emit(Object.assign({ step: name, ok: true, ms: Date.now() - started }, fields));
  } catch (err) {
    emit({ step: name, ok: false, ms: Date.now() - started, error: describe(err) });
    throw err;
  }
}

/** Values a listener was called with, and a way to wait for one that satisfies a predicate. */
class Recorder {
  constructor() {
    this.calls = [];
    this.waiters = [];
    this.listener = value => {
      this.calls.push(value);
      this.waiters = this.waiters.filter(w => !(w.pred(value) && (w.resolve(value), true)));
    };
  }

  waitFor(pred, timeoutMs, what) {
    const seen = this.calls.find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no listener call ${what} within ${timeoutMs} ms; calls: ${JSON.stringify(this.calls)}`));
      }, timeoutMs);
      this.waiters.push({ pred, resolve: value => { clearTimeout(timer); resolve(value); } });
    });
  }
}

const stdinLines = readline.createInterface({ input: process.stdin });
const pendingLines = [];
let lineWaiter = null;
stdinLines.on('line', line => {
  if (lineWaiter) {
    const w = lineWaiter;
    lineWaiter = null;
    w(line);
  } else {
    pendingLines.push(line);
  }
});

function readStdinLine(timeoutMs) {
  if (pendingLines.length) return Promise.resolve(pendingLines.shift());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { lineWaiter = null; reject(new Error('no line on stdin')); }, timeoutMs);
    lineWaiter = line => { clearTimeout(timer); resolve(line); };
  });
}

const sdkErrors = [];
// host lists of the UDP pushes the SDK received (its PushReceiver logs each packet before handling it)
const pushedHosts = [];
function recordPush(args) {
  if (typeof args[0] !== 'string' || !args[0].startsWith('[PushReceiver] received push data')) return;
  try {
    pushedHosts.push(hostKeys(JSON.parse(JSON.parse(args[1]).data).hosts));
  } catch (err) {
    pushedHosts.push(`unreadable push: ${describe(err)}`);
  }
}
const logger = {
  debug() {},
  info(...args) {
    recordPush(args);
    process.stderr.write(`[sdk info] ${util.format(...args)}\n`);
  },
  warn(...args) { process.stderr.write(`[sdk warn] ${util.format(...args)}\n`); },
  error(...args) { process.stderr.write(`[sdk error] ${util.format(...args)}\n`); },
};

async function configScenario() {
  const dataId = `node-sdk.${id}.properties`;
  const group = 'DEFAULT_GROUP';
  const client = new NacosConfigClient(Object.assign({
    serverAddr: addr,
    requestTimeout: 6000,
    cacheDir: path.join(workDir, 'config-cache'),
  }, credentials));
  client.on('error', err => {
    sdkErrors.push(describe(err));
    process.stderr.write(`[config client error] ${describe(err)}\n`);
  });
  const recorder = new Recorder();
  try {
    await step('config.ready', async () => {
      await client.ready();
      return { dataId, group };
    });
    await step('config.publish', async () => ({ result: await client.publishSingle(dataId, group, 'v=1') }));
    await step('config.get', async () => ({ value: await client.getConfig(dataId, group) }));
    await step('config.subscribe', async () => {
      client.subscribe({ dataId, group }, recorder.listener);
      return { value: await recorder.waitFor(v => v === 'v=1', 5000, 'with the current value') };
    });
    await step('config.listener.node_publish', async () => {
      const result = await client.publishSingle(dataId, group, NODE_VALUE);
      const started = Date.now();
      const value = await recorder.waitFor(v => v === NODE_VALUE, 5000, 'after the SDK published');
      return { result, value, latency_ms: Date.now() - started };
    });
    await step('config.listener.http_publish', async () => {
      emit({ signal: 'READY_FOR_HTTP_PUBLISH', dataId, group });
      const published = JSON.parse(await readStdinLine(20000));
      const started = Date.now();
      const value = await recorder.waitFor(v => v === published, 5000, `after an HTTP publish of ${JSON.stringify(published)}`);
      return { value, latency_ms: Date.now() - started };
    });
    await step('config.remove', async () => {
      client.unSubscribe({ dataId, group }, recorder.listener);
      return { result: await client.remove(dataId, group) };
    });
    await step('config.get_after_remove', async () => ({ value: await client.getConfig(dataId, group) }));
  } catch (_) {
    // reported by step(); the naming scenario still runs
  } finally {
    await step('config.close', async () => {
      await client.close();
      return {};
    }).catch(() => {});
  }
}

function hostKeys(hosts) {
  return (hosts || []).map(h => `${h.ip}:${h.port}`).sort();
}

async function namingScenario() {
  const serviceName = `node-sdk-svc-${id}`;
  const instance = { ip: '10.10.0.1', port: 8080, metadata: { from: 'node-sdk' } };
  // nacos-naming drops a service list with no hosts (ServiceInfo.isValid), so a subscriber never hears that the
  // last instance left; a second instance stays registered so the removal of the first is observable.
  const anchor = { ip: '10.10.0.2', port: 8080 };
  const client = new NacosNamingClient(Object.assign({
    logger,
    serverList: addr,
    namespace: 'public',
  }, credentials));
  client.on('error', err => {
    sdkErrors.push(describe(err));
    process.stderr.write(`[naming client error] ${describe(err)}\n`);
  });
  const recorder = new Recorder();
  try {
    await step('naming.ready', async () => {
      await client.ready();
      return { serviceName };
    });
    await step('naming.server_status', async () => ({ status: await client.getServerStatus() }));
    await step('naming.register', async () => {
      await client.registerInstance(serviceName, instance);
      await client.registerInstance(serviceName, anchor);
      return {};
    });
    await step('naming.get_all_instances', async () => {
      const hosts = await client.getAllInstances(serviceName);
      const mine = (hosts || []).find(h => h.ip === instance.ip && h.port === instance.port);
      return { hosts: hostKeys(hosts), instance: mine || null };
    });
    await step('naming.subscribe', async () => {
      client.subscribe(serviceName, recorder.listener);
      const hosts = await recorder.waitFor(hs => hostKeys(hs).includes('10.10.0.1:8080'), 5000, 'listing the instance');
      return { hosts: hostKeys(hosts) };
    });
    await step('naming.deregister', async () => {
      await client.deregisterInstance(serviceName, instance);
      return {};
    });
    await step('naming.subscriber_sees_deregister', async () => {
      // the server pushes the change over UDP 500 ms after it (C.5); polling alone would take up to `cacheMillis`
      // (10 s), so 2 s is only met by a push. `pushed` says a push without the instance did arrive.
      const started = Date.now();
      const hosts = await recorder.waitFor(hs => !hostKeys(hs).includes('10.10.0.1:8080'), 2000, 'without the instance');
      const pushed = pushedHosts.some(hs => Array.isArray(hs) && !hs.includes('10.10.0.1:8080'));
      return { hosts: hostKeys(hosts), latency_ms: Date.now() - started, pushed, pushes: pushedHosts };
    });
    await step('naming.get_all_instances_direct', async () => {
      const hosts = await client.getAllInstances(serviceName, 'DEFAULT_GROUP', '', false);
      return { hosts: hostKeys(hosts) };
    });
    await step('naming.deregister_anchor', async () => {
      client.unSubscribe(serviceName, recorder.listener);
      await client.deregisterInstance(serviceName, anchor);
      return {};
    });
  } catch (_) {
    // reported by step()
  } finally {
    await step('naming.close', async () => {
      await client.close();
      return {};
    }).catch(() => {});
  }
}

(async () => {
  await configScenario();
  await namingScenario();
  emit({ step: 'sdk_errors', ok: true, errors: sdkErrors });
  emit({ step: 'done', ok: true });
  // a long poll (up to 30 s) may still be in flight after close(); nothing is left to wait for
  process.stdout.write('', () => process.exit(0));
})().catch(err => {
  emit({ step: 'crashed', ok: false, error: describe(err) });
  process.stdout.write('', () => process.exit(1));
});
