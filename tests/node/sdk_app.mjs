// A user's Node program, unchanged for r4u: the npm openai and @anthropic-ai/sdk clients with their default
// transport (global fetch), one plain and one streamed call each. Every request carries x-test-id
// `<marker>-<name>` so the test finds its trace. Prints one JSON line of what the program saw.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

const marker = process.argv[2];
const tag = (name) => ({ headers: { 'x-test-id': `${marker}-${name}` } });
const seen = { node: process.version };

const openai = new OpenAI();
const chat = await openai.chat.completions.create(
  { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello from Node.' }] }, tag('openai-plain'));
seen['openai-plain'] = chat.choices[0].message.content;
const stream = await openai.chat.completions.create(
  { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Stream hello from Node.' }] },
  tag('openai-stream'));
seen['openai-stream'] = '';
for await (const chunk of stream) seen['openai-stream'] += chunk.choices[0]?.delta?.content ?? '';

const anthropic = new Anthropic();
const message = await anthropic.messages.create(
  { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Say hello from Node.' }] },
  tag('anthropic-plain'));
seen['anthropic-plain'] = message.content[0].text;
const streamed = anthropic.messages.stream(
  { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Stream hello from Node.' }] },
  tag('anthropic-stream'));
seen['anthropic-stream'] = (await streamed.finalMessage()).content[0].text;

seen.preload_tunnels = globalThis[Symbol.for('r4u.node-preload')]?.tunnels ?? null;
console.log(JSON.stringify(seen));
