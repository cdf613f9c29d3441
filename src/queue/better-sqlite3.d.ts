/**
 * The part of better-sqlite3's API the queue uses. The package ships no types and
 * @types/better-sqlite3 is not a dependency, so the calls we make are declared here.
 */
declare module "better-sqlite3" {
  interface RunResult {
    changes: number;
    lastInsertRowid: number | bigint;
  }
  interface Statement<Row = unknown> {
    run(...params: unknown[]): RunResult;
    get(...params: unknown[]): Row | undefined;
    all(...params: unknown[]): Row[];
  }
  interface Database {
    prepare<Row = unknown>(sql: string): Statement<Row>;
    exec(sql: string): Database;
    pragma(sql: string): unknown;
    transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
    close(): void;
  }
  interface DatabaseConstructor {
    new (file: string, options?: { timeout?: number }): Database;
  }
  const Database: DatabaseConstructor;
  export default Database;
  export type { Database, RunResult, Statement };
}
