import { getJson, type HubStatus } from '../api.js';
import { h } from '../dom.js';

const LOOPBACK = /^(127\.|::1$|localhost$)/;
const ANY = new Set(['0.0.0.0', '::', '']);

/**
 * The host a device on the network should use for the broker: the address the broker
 * listens on, or, when it listens on every interface, the host this page was loaded
 * from (the one name the browser already proved reaches this machine).
 */
export function brokerHost(
  listen: string | undefined,
  pageHost: string,
): { host: string; localOnly: boolean } {
  const page = pageHost.replace(/^\[|\]$/g, '');
  if (listen === undefined || ANY.has(listen)) return { host: page, localOnly: false };
  return { host: listen, localOnly: LOOPBACK.test(listen) };
}

interface Snippet {
  id: string;
  title: string;
  intro: string;
  code: string;
}

/** Ready-to-run examples; with `auth`, each carries a USER/PASSWORD placeholder (a line of mqtt.users). */
export function snippets(host: string, port: number, auth = false): Snippet[] {
  const hostArg = host.includes(':') ? `[${host}]` : host;
  const url = `mqtt://${hostArg}:${port}`;
  const pub = `mosquitto_pub -h ${host} -p ${port}${auth ? ' -u USER -P PASSWORD' : ''}`;
  return [
    {
      id: 'mosquitto',
      title: 'mosquitto_pub',
      intro: 'One reading from a terminal (Debian/Ubuntu: apt install mosquitto-clients):',
      code: [
        `${pub} -t sensors/kitchen/temperature -m 21.5`,
        `${pub} -t sensors/kitchen -m '{"temperature":21.5,"humidity":40}'`,
      ].join('\n'),
    },
    {
      id: 'tasmota',
      title: 'Tasmota',
      intro: 'In the device console (or Configuration → MQTT); readings arrive as tele/<topic>/SENSOR:',
      code: `Backlog MqttHost ${host}; MqttPort ${port};${auth ? ' MqttUser USER; MqttPassword PASSWORD;' : ''} Topic kitchen; TelePeriod 10`,
    },
    {
      id: 'esphome',
      title: 'ESPHome',
      intro:
        'In the node’s YAML (instead of, or beside, api:); each sensor publishes <node>/sensor/<name>/state:',
      code: [
        'mqtt:',
        `  broker: ${host}`,
        `  port: ${port}`,
        ...(auth ? ['  username: USER', '  password: PASSWORD'] : []),
      ].join('\n'),
    },
    {
      id: 'node',
      title: 'Node.js (mqtt)',
      intro: 'npm install mqtt, then in a file such as send.mjs:',
      code: [
        "import mqtt from 'mqtt';",
        '',
        auth
          ? `const client = await mqtt.connectAsync('${url}', { username: 'USER', password: 'PASSWORD' });`
          : `const client = await mqtt.connectAsync('${url}');`,
        "await client.publishAsync('sensors/kitchen/temperature', JSON.stringify({ value: 21.5, unit: 'Cel' }));",
        'await client.endAsync();',
      ].join('\n'),
    },
    {
      id: 'python',
      title: 'Python (paho-mqtt)',
      intro: 'pip install paho-mqtt, then:',
      code: [
        'import paho.mqtt.publish as publish',
        '',
        `publish.single("sensors/kitchen/temperature", "21.5", hostname="${host}", port=${port}${auth ? ', auth={"username": "USER", "password": "PASSWORD"}' : ''})`,
      ].join('\n'),
    },
    {
      id: 'simulate',
      title: 'No device at hand?',
      intro: 'A simulated fleet, from the hub’s folder:',
      code: 'npx sensor-hub simulate --devices 3',
    },
  ];
}

/** Copies text; falls back to a selection and execCommand where the Clipboard API is not allowed (plain http on a LAN). */
async function copy(text: string, pre: HTMLElement): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    const sel = window.getSelection();
    const r = document.createRange();
    r.selectNodeContents(pre);
    sel?.removeAllRanges();
    sel?.addRange(r);
    document.execCommand('copy');
  }
}

/**
 * What the overview shows while the hub knows no device: the broker's address as a
 * device must use it, and how to send a first reading from the common firmwares and
 * from a script, each ready to copy. The device list replaces it when a reading arrives.
 */
export function firstRun(): HTMLElement {
  const broker = h('p', { class: 'broker' }, 'Finding the broker’s address…');
  const warn = h('p', { class: 'warn', hidden: '' });
  const list = h('div', { class: 'snippets' });
  const el = h(
    'section',
    { class: 'first-run', id: 'first-run' },
    h('h2', {}, 'Connect your first device'),
    h(
      'p',
      {},
      'The hub runs its own MQTT broker. Point a device or script at it and publish a number to ',
      h('code', {}, 'sensors/<device>/<sensor>'),
      '; the device appears here with its first reading.',
    ),
    broker,
    warn,
    list,
  );
  void getJson<HubStatus>('/api/hub')
    .then((s) => {
      const { host, localOnly } = brokerHost(s.mqtt.host, location.hostname);
      const port = s.mqtt.port;
      const auth = s.mqtt.auth === true;
      broker.replaceChildren('Broker: ', h('code', { id: 'broker-url' }, `mqtt://${host}:${port}`));
      if (auth) broker.append(' · log in with a user of mqtt.users (USER and PASSWORD below)');
      if (localOnly) {
        warn.textContent =
          `The broker listens on ${host} only, so it is reachable from this computer alone. ` +
          'For devices on your network, set mqtt.host: 0.0.0.0 (or HUB_MQTT_HOST) and mqtt.users, and restart the hub.';
        warn.hidden = false;
      }
      list.replaceChildren(
        ...snippets(host, port, auth).map((sn) => {
          const pre = h('pre', {}, h('code', {}, sn.code));
          const btn = h(
            'button',
            { type: 'button', class: 'copy', 'aria-label': `Copy ${sn.title}` },
            'Copy',
          );
          btn.addEventListener('click', () => {
            void copy(sn.code, pre).then(() => {
              btn.textContent = 'Copied';
              setTimeout(() => {
                btn.textContent = 'Copy';
              }, 1500);
            });
          });
          return h(
            'div',
            { class: 'snippet', 'data-snippet': sn.id },
            h('div', { class: 'snippet-head' }, h('h3', {}, sn.title), btn),
            h('p', {}, sn.intro),
            pre,
          );
        }),
      );
    })
    .catch((err: Error) => {
      broker.textContent = `The hub did not answer: ${err.message}`;
    });
  return el;
}
