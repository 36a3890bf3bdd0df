// The `ota-mcu` command line: one module per subcommand in simulator/cli/, loaded on demand so a
// command starts only what it needs.

type Command = { run(argv: string[]): Promise<number> };

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  inspect: { summary: 'check a Mender Artifact (checksums, signature) and print its facts', load: () => import('./cli/inspect.ts') },
  write: { summary: 'write a module-image Mender Artifact (flags like mender-artifact)', load: () => import('./cli/write.ts') },
  image: { summary: 'check an MCUboot image as the bootloader would', load: () => import('./cli/image.ts') },
  server: { summary: 'run the Mender-compatible development server', load: () => import('./cli/server.ts') },
  deploy: { summary: 'upload an artifact and create a deployment', load: () => import('./cli/deploy.ts') },
  status: { summary: 'show devices, deployments and per-device statuses', load: () => import('./cli/status.ts') },
  device: { summary: 'run one simulated device against a server', load: () => import('./cli/device.ts') },
  demo: { summary: 'show a full update on a simulated board (the main job)', load: () => import('./cli/demo.ts') },
  bench: { summary: 'measure reader throughput, XS compute, the device RAM and flash, and the CLI against mender-artifact', load: () => import('./cli/bench.ts') },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: ota-mcu COMMAND [ARGS]\n\ncommands:\n${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`ota-mcu: unknown command "${name}"\n${usage()}`);
    return 2;
  }
  return (await command.load()).run(rest);
}
