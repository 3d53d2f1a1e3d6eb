/**
 * Prompt -> token ids, as diffusers' ZImagePipeline does: the prompt goes into the chat template
 * as one user message with add_generation_prompt and enable_thinking, then through the model's
 * tokenizer.json. diffusers pads to 512 and truncates; we never pad (batch 1, causal encoder:
 * the same hidden states) and refuse what would be truncated, since silently dropping the end
 * of a prompt is worse than a clear 400.
 */
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { EngineError } from '../engine.ts';

/**
 * The package's .d.ts files use extensionless relative imports, which `nodenext` resolution
 * cannot follow, so its class types resolve to nothing. This is the part we use.
 */
interface TokenizerJs {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
}
const TokenizerClass = Tokenizer as unknown as new (json: object, config: object) => TokenizerJs;

export interface PromptTokenizer {
  encode(prompt: string): number[];
  maxTokens: number;
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
}

async function chatTemplate(dir: string, config: Record<string, unknown>): Promise<string> {
  const inline = config['chat_template'];
  if (typeof inline === 'string') return inline;
  try {
    return await readFile(path.join(dir, 'chat_template.jinja'), 'utf8');
  } catch (err) {
    throw new Error(`${dir}: no chat_template in tokenizer_config.json nor chat_template.jinja`, {
      cause: err,
    });
  }
}

export async function loadTokenizer(dir: string, maxTokens: number): Promise<PromptTokenizer> {
  const [json, config] = await Promise.all([
    readJson(path.join(dir, 'tokenizer.json')),
    readJson(path.join(dir, 'tokenizer_config.json')),
  ]);
  const tokenizer = new TokenizerClass(json, config);
  const template = new Template(await chatTemplate(dir, config));
  return {
    maxTokens,
    encode(prompt: string): number[] {
      const text = template.render({
        messages: [{ role: 'user', content: prompt }],
        add_generation_prompt: true,
        enable_thinking: true,
      });
      // The template already spells out the special tokens; add none (diffusers' Qwen
      // tokenizer adds none either).
      const ids = tokenizer.encode(text, { add_special_tokens: false }).ids;
      if (ids.length > maxTokens)
        throw new EngineError(
          'PROMPT_TOO_LONG',
          `prompt is ${ids.length} tokens after the chat template; the limit is ${maxTokens}`,
        );
      return ids;
    },
  };
}
