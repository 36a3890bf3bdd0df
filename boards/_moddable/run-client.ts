// Runs the update client on a board for good. run() only ends on a failure it cannot retry; with
// no operator at hand, the board logs it and restarts.
import { createClient } from '../../core/client.ts';
import type { ClientConfig } from '../../core/client-config.ts';
import type { Board } from '../../platform/board.ts';

export function runClient(board: Board, config: ClientConfig): void {
  createClient(board, config).run().catch((error: unknown) => {
    board.system.log('error', `update client stopped: ${error instanceof Error ? error.message : String(error)}; restarting`);
    board.system.restart();
  });
}
