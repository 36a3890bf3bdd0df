// `ota-mcu server [--port N] [--data DIR] [--auto-accept] [--http]`: runs the Mender-compatible
// development server until SIGINT/SIGTERM. Prints the URL, then the CA path (HTTPS) and the data dir.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { startServer } from '../server/server.ts';

const USAGE = 'usage: ota-mcu server [--port N] [--data DIR] [--auto-accept] [--http]\n';
const DEFAULT_PORT = 8443;
const DEFAULT_DATA = '.ota-mcu/server';

export async function run(argv: string[]): Promise<number> {
  let options;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        port: { type: 'string' },
        data: { type: 'string' },
        'auto-accept': { type: 'boolean' },
        http: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(String(positionals[0]))}`);
    const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port expected 0..65535, got ${JSON.stringify(values.port)}`);
    options = { port, dataDir: resolve(values.data ?? DEFAULT_DATA), autoAccept: values['auto-accept'] ?? false, http: values.http ?? false };
  } catch (error) {
    process.stderr.write(`ota-mcu server: ${(error as Error).message}\n${USAGE}`);
    return 1;
  }
  let server;
  try {
    server = await startServer(options);
  } catch (error) {
    process.stderr.write(`ota-mcu server: ${(error as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`${server.url}\n`);
  if (server.caPath !== undefined) process.stdout.write(`ca: ${server.caPath}\n`);
  process.stdout.write(`data: ${options.dataDir}\n`);
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  return 0;
}
