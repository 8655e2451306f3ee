import { parseArgs } from 'node:util';

/**
 * What every kanplan command shares: its options declared once as data, parsed by Node's
 * `util.parseArgs` (strict: an unknown option, a missing value or an unexpected argument is a
 * usage error, exit code 2), and its `--help` generated from the same declarations.
 * A command is one file in src/cli/ that exports `defineCommand({...})`; the dispatcher
 * (main.ts) lists it.
 */

/** Where a command writes: process.stdout/stderr, or a capture in tests. */
export interface OutputStream {
  write(text: string): unknown;
  /** A terminal: progress is drawn as one updating line (see progress.ts). */
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface CommandIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
}

export const processIo: CommandIo = { stdout: process.stdout, stderr: process.stderr };

export interface StringOption {
  readonly type: 'string';
  /** The value's name in usage lines: `--batch N`. */
  readonly placeholder: string;
  readonly description: string;
  readonly short?: string;
  readonly default?: string;
  /** The only values accepted; the option's type narrows to them. */
  readonly choices?: readonly string[];
  readonly required?: boolean;
  /** May be given more than once (`--redirect-uri A --redirect-uri B`); the value is a list. */
  readonly multiple?: boolean;
}

export interface BooleanOption {
  readonly type: 'boolean';
  readonly description: string;
  readonly short?: string;
}

export type OptionDefinition = StringOption | BooleanOption;
export type OptionDefinitions = Readonly<Record<string, OptionDefinition>>;

/** The parsed value of one option, typed by its definition. */
type OptionValue<D extends OptionDefinition> = D extends BooleanOption
  ? boolean
  : D extends { readonly multiple: true }
    ? readonly string[]
    : D extends { readonly choices: readonly (infer C)[] }
    ? D extends { readonly default: string } | { readonly required: true }
      ? C
      : C | undefined
    : D extends { readonly default: string } | { readonly required: true }
      ? string
      : string | undefined;

export type OptionValues<O extends OptionDefinitions> = { readonly [K in keyof O]: OptionValue<O[K]> };

/** Operands (positional arguments), such as the files `validate` reads. */
export interface OperandDefinition {
  /** The operand's name in usage lines: `FILE|DIR`. */
  readonly placeholder: string;
  readonly description: string;
  /** At least one is needed (`FILE|DIR...`); without it any number, including none. */
  readonly required?: boolean;
}

export interface ParsedArguments<O extends OptionDefinitions> {
  readonly values: OptionValues<O>;
  readonly operands: readonly string[];
}

export interface CommandDefinition<O extends OptionDefinitions> {
  readonly name: string;
  /** One line, shown in `kanplan --help`. */
  readonly summary: string;
  /** More paragraphs for the command's own --help (how it connects, what the exit codes mean). */
  readonly description?: string;
  readonly operands?: OperandDefinition;
  readonly options: O;
  run(args: ParsedArguments<O>, io: CommandIo): Promise<number>;
}

/** A command as the dispatcher sees it: its name and summary, its help, and a run over raw argv. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly help: string;
  /** Parses `args` and runs; returns the exit code (2 on a usage error, 0 after --help). */
  run(args: readonly string[], io?: CommandIo): Promise<number>;
}

/** A mistake in how the command was called: printed with the usage line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const helpOption: BooleanOption = { type: 'boolean', short: 'h', description: 'Show this help' };

/** `--batch N`, `--type pcsp|bsp|isp`, `--all`. */
function flagWithValue(name: string, option: OptionDefinition): string {
  return option.type === 'string' ? `--${name} ${option.choices?.join('|') ?? option.placeholder}${option.multiple ? '...' : ''}` : `--${name}`;
}

function usageLine(definition: CommandDefinition<OptionDefinitions>): string {
  const parts = [`kanplan ${definition.name}`];
  if (definition.operands) {
    parts.push(definition.operands.required ? `${definition.operands.placeholder}...` : `[${definition.operands.placeholder}...]`);
  }
  for (const [name, option] of Object.entries(definition.options)) {
    const flag = flagWithValue(name, option);
    parts.push(option.type === 'string' && option.required ? flag : `[${flag}]`);
  }
  return parts.join(' ');
}

function helpText(definition: CommandDefinition<OptionDefinitions>, usage: string): string {
  const options: OptionDefinitions = { ...definition.options, help: helpOption };
  const rows: [string, string][] = Object.entries(options).map(([name, option]) => {
    const flag = option.short ? `-${option.short}, ${flagWithValue(name, option)}` : flagWithValue(name, option);
    const fallback = option.type === 'string' && option.default !== undefined ? ` (default: ${option.default})` : '';
    return [flag, `${option.description}${fallback}`];
  });
  const operand = definition.operands;
  const width = Math.max(operand?.placeholder.length ?? 0, ...rows.map(([flag]) => flag.length));
  const row = ([flag, text]: [string, string]): string => `  ${flag.padEnd(width)}  ${text}`;
  return [
    definition.summary,
    '',
    `Usage: ${usage}`,
    ...(definition.description ? ['', definition.description] : []),
    ...(operand ? ['', 'Arguments:', row([operand.placeholder, operand.description])] : []),
    '',
    'Options:',
    ...rows.map(row),
  ].join('\n');
}

/** Whether --help or -h comes before any `--` (after it, they are operands). */
function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

function parse<O extends OptionDefinitions>(definition: CommandDefinition<O>, args: readonly string[]): ParsedArguments<O> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; default?: string; multiple?: boolean }> = {};
  for (const [name, option] of Object.entries(definition.options)) {
    options[name] = {
      type: option.type,
      ...(option.short !== undefined ? { short: option.short } : {}),
      ...(option.type === 'string' && option.default !== undefined ? { default: option.default } : {}),
      ...(option.type === 'string' && option.multiple ? { multiple: true } : {}),
    };
  }
  let parsed: { values: Record<string, string | string[] | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: definition.operands !== undefined }) as typeof parsed;
  } catch (err) {
    // Node's messages name the option and what is wrong with it (ERR_PARSE_ARGS_UNKNOWN_OPTION,
    // ERR_PARSE_ARGS_INVALID_OPTION_VALUE, ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL).
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_')) throw new UsageError((err as Error).message);
    throw err;
  }
  for (const [name, option] of Object.entries(definition.options)) {
    if (option.type !== 'string') {
      parsed.values[name] ??= false;
      continue;
    }
    if (option.multiple) parsed.values[name] ??= [];
    const value = parsed.values[name];
    if (value === undefined && option.required) {
      throw new UsageError(`Option '--${name} ${option.placeholder}' is required`);
    }
    if (typeof value === 'string' && option.choices && !option.choices.includes(value)) {
      throw new UsageError(`Option '--${name}' takes ${option.choices.join(', ')}, not ${JSON.stringify(value)}`);
    }
  }
  if (definition.operands?.required && parsed.positionals.length === 0) {
    throw new UsageError(`At least one ${definition.operands.placeholder} is needed`);
  }
  return { values: parsed.values as OptionValues<O>, operands: parsed.positionals };
}

/**
 * A command from its definition. `const O` keeps each option's literal definition, so `values`
 * is typed per option: booleans as boolean, options with choices as their union, options with a
 * default or `required` as string, others as string | undefined.
 */
export function defineCommand<const O extends OptionDefinitions>(definition: CommandDefinition<O>): Command {
  const usage = usageLine(definition);
  const help = helpText(definition, usage);
  return {
    name: definition.name,
    summary: definition.summary,
    usage,
    help,
    async run(args, io = processIo) {
      if (asksForHelp(args)) {
        io.stdout.write(`${help}\n`);
        return 0;
      }
      try {
        return await definition.run(parse(definition, args), io);
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        io.stderr.write(`kanplan ${definition.name}: ${err.message}\nUsage: ${usage}\nRun 'kanplan ${definition.name} --help' for the options.\n`);
        return 2;
      }
    },
  };
}
