// A deployment's history as the end-to-end suites check it: Lab.view writes each entry as
// "status" or "status (substate)".

/** The statuses alone, substates dropped. */
export function statuses(history: readonly string[]): string[] {
  return history.map((h) => h.replace(/ \(.*\)$/, ''));
}
