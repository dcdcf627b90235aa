"""tests/serve/openai_client.py PORT MODEL — the official openai client
against a running strata-serve (SmolLM2) that serves MODEL.  Every case of
the API the server takes, streaming and not, and the fields it refuses.
Prints one line per check; exits 1 when any failed."""
import json
import math
import sys

import openai

port, model = int(sys.argv[1]), sys.argv[2]
client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none", max_retries=0, timeout=120)
failures = []


def check(cond, what):
    print(("ok     " if cond else "FAILED ") + what)
    if not cond:
        failures.append(what)


def refused(call, status, param, code, words=""):
    """The call fails with HTTP @status and an error naming @param and @code."""
    try:
        call()
    except openai.APIStatusError as e:
        body = e.body if isinstance(e.body, dict) else {}
        ok = (e.status_code == status and e.param == param and e.code == code and words in str(body.get("message"))
              and set(body) >= {"message", "type", "param", "code"})
        return ok, f"{e.status_code} {body}"
    return False, "accepted"


def chat(**kw):
    kw.setdefault("model", model)
    kw.setdefault("messages", [{"role": "user", "content": "What is the capital of France?"}])
    kw.setdefault("temperature", 0)
    return client.chat.completions.create(**kw)


def complete(**kw):
    kw.setdefault("model", model)
    kw.setdefault("temperature", 0)
    return client.completions.create(**kw)


def stream_text(chunks):
    out = []
    for c in chunks:
        if c.choices and c.choices[0].delta and c.choices[0].delta.content:
            out.append(c.choices[0].delta.content)
    return "".join(out)


# ---- /v1/models --------------------------------------------------------------
models = client.models.list().data
check(len(models) == 1 and models[0].id == model and models[0].object == "model", f"models.list(): {models}")
check(client.models.retrieve(model).id == model, "models.retrieve() of the served model")
ok, got = refused(lambda: client.models.retrieve("gpt-4"), 404, "model", "model_not_found")
check(ok, f"models.retrieve() of another model: 404 model_not_found ({got})")
ok, got = refused(lambda: chat(model="gpt-4o"), 404, "model", "model_not_found", "gpt-4o")
check(ok, f"a request naming another model: 404 model_not_found ({got})")

# ---- lengths -------------------------------------------------------------------
r = chat(max_completion_tokens=5, messages=[{"role": "user", "content": "Write a long story about a dragon."}])
check(r.usage.completion_tokens == 5 and r.choices[0].finish_reason == "length",
      f"max_completion_tokens=5: {r.usage.completion_tokens} tokens, {r.choices[0].finish_reason}")
chunks = list(chat(max_completion_tokens=5, stream=True,
                   messages=[{"role": "user", "content": "Write a long story about a dragon."}]))
check(chunks[-1].choices[0].finish_reason == "length", "max_completion_tokens=5, streamed: finish_reason length")
r = complete(prompt="Once upon a time", max_tokens=7)
check(r.usage.completion_tokens == 7, "completions: max_tokens=7")
for field in ("max_tokens", "max_completion_tokens"):
    ok, got = refused(lambda: chat(**{field: 0}), 400, field, "invalid_value")
    check(ok, f"{field}=0 is refused ({got})")
ok, got = refused(lambda: chat(max_tokens=3, max_completion_tokens=4), 400, "max_completion_tokens", "invalid_value")
check(ok, f"max_tokens and max_completion_tokens that disagree are refused ({got})")

# ---- streaming usage ------------------------------------------------------------
chunks = list(chat(max_tokens=8, stream=True, stream_options={"include_usage": True}))
last = chunks[-1]
check(last.choices == [] and last.usage is not None and last.usage.completion_tokens >= 1
      and last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens,
      f"include_usage: a last chunk with usage and no choices ({last.usage})")
check(all(c.usage is None for c in chunks[:-1]), "include_usage: the other chunks carry usage null")
chunks = list(complete(prompt="One, two, three,", max_tokens=4, stream=True, stream_options={"include_usage": True}))
check(chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4, "include_usage on completions")
chunks = list(chat(max_tokens=4, stream=True))
check(all(c.usage is None for c in chunks) and chunks[-1].choices, "without include_usage: no usage chunk")
ok, got = refused(lambda: chat(max_tokens=4, stream_options={"include_usage": True}), 400, "stream_options",
                  "invalid_value")
check(ok, f"stream_options without stream is refused ({got})")

# ---- content parts and roles ---------------------------------------------------------
plain = chat_plain = chat(max_tokens=12, messages=[{"role": "user", "content": "What is the capital\nof France?"}])
parts = chat(max_tokens=12, messages=[{"role": "user", "content": [
    {"type": "text", "text": "What is the capital"}, {"type": "text", "text": "of France?"}]}])
check(parts.choices[0].message.content == plain.choices[0].message.content and
      "Paris" in parts.choices[0].message.content, "text parts read as their text joined by newlines")
check(parts.usage.prompt_tokens == plain.usage.prompt_tokens, "text parts: the same prompt tokens")
ok, got = refused(lambda: chat(messages=[{"role": "user", "content": [
    {"type": "text", "text": "What is in this image?"},
    {"type": "image_url", "image_url": {"url": "http://example.invalid/a.png"}}]}]),
    400, "messages[0].content", "unsupported_content_type", "image_url")
check(ok, f"an image part is refused by name ({got})")
system = chat(max_tokens=12, messages=[{"role": "system", "content": "Answer in French."},
                                       {"role": "user", "content": "What is the capital of France?"}])
developer = chat(max_tokens=12, messages=[{"role": "developer", "content": "Answer in French."},
                                          {"role": "user", "content": "What is the capital of France?"}])
check(developer.choices[0].message.content == system.choices[0].message.content and
      developer.usage.prompt_tokens == system.usage.prompt_tokens, "the developer role reads as system")
ok, got = refused(lambda: chat(messages=[{"role": "tool", "content": "42", "tool_call_id": "x"}]), 400, "messages[0]",
                  "invalid_value", "tool calls are not supported")
check(ok, f"a tool message is refused ({got})")
ok, got = refused(lambda: chat(messages=[{"role": "user", "content": "hi", "name": "bob"}]), 400, "messages[0]",
                  "unsupported_parameter", "name")
check(ok, f"a message field the server ignores would be refused by name ({got})")

# ---- logprobs --------------------------------------------------------------------------
r = chat(max_tokens=10, logprobs=True, top_logprobs=3)
lp = r.choices[0].logprobs.content
check(len(lp) == r.usage.completion_tokens, f"chat logprobs: one entry per token ({len(lp)})")
check(all(t.logprob <= 0 and len(t.top_logprobs) == 3 for t in lp), "chat logprobs: <= 0, three alternatives each")
check(all(t.top_logprobs[0].token == t.token and abs(t.top_logprobs[0].logprob - t.logprob) < 1e-6 for t in lp),
      "greedy: the chosen token is the likeliest")
check(all(a.logprob >= b.logprob for t in lp for a, b in zip(t.top_logprobs, t.top_logprobs[1:])),
      "alternatives most likely first")
check(all(sum(math.exp(a.logprob) for a in t.top_logprobs) <= 1 + 1e-5 for t in lp), "probabilities add to at most 1")
check(bytes(b for t in lp for b in t.bytes) == r.choices[0].message.content.encode(), "the tokens' bytes spell the text")
streamed = [t for c in chat(max_tokens=10, logprobs=True, top_logprobs=3, stream=True)
            if c.choices and c.choices[0].logprobs for t in c.choices[0].logprobs.content]
check([t.token for t in streamed] == [t.token for t in lp] and
      all(abs(a.logprob - b.logprob) < 1e-5 for a, b in zip(streamed, lp)), "streamed logprobs: the same tokens")
r1 = chat(max_tokens=1, logprobs=True, top_logprobs=1)
r05 = chat(max_tokens=1, logprobs=True, top_logprobs=1, temperature=0.5, seed=1)
check(r05.choices[0].logprobs.content[0].top_logprobs[0].logprob > r1.choices[0].logprobs.content[0].top_logprobs[0].logprob,
      "logprobs come after the temperature (0.5 sharpens the first token's)")
check(chat(max_tokens=3).choices[0].logprobs is None, "no logprobs unless asked")
ok, got = refused(lambda: chat(top_logprobs=2), 400, "top_logprobs", "invalid_value")
check(ok, f"top_logprobs without logprobs is refused ({got})")
ok, got = refused(lambda: chat(logprobs=True, top_logprobs=21), 400, "top_logprobs", "invalid_value")
check(ok, f"top_logprobs 21 is refused ({got})")
r = complete(prompt="The capital of France is", max_tokens=6, logprobs=2)
L = r.choices[0].logprobs
check(len(L.tokens) == len(L.token_logprobs) == len(L.top_logprobs) == len(L.text_offset) == 6,
      "completions logprobs: tokens, token_logprobs, top_logprobs, text_offset")
check("".join(L.tokens) == r.choices[0].text and L.text_offset[0] == 0 and
      all(L.text_offset[i + 1] == L.text_offset[i] + len(L.tokens[i].encode()) for i in range(5)),
      "completions logprobs: the tokens spell the text at their offsets")
check(all(len(d) <= 2 and max(d.values()) >= lp - 1e-6 for d, lp in zip(L.top_logprobs, L.token_logprobs)),
      "completions logprobs: two alternatives, the chosen among the likeliest")
chunks = list(complete(prompt="The capital of France is", max_tokens=6, logprobs=2, stream=True))
st = [t for c in chunks if c.choices and c.choices[0].logprobs for t in c.choices[0].logprobs.tokens]
offs = [o for c in chunks if c.choices and c.choices[0].logprobs for o in c.choices[0].logprobs.text_offset]
check(st == L.tokens and offs == L.text_offset, "streamed completions logprobs: the same tokens and offsets")

# ---- penalties -----------------------------------------------------------------------------
base = complete(prompt="1, 1, 1, 1, 1, 1, 1, 1,", max_tokens=24).choices[0].text
freq = complete(prompt="1, 1, 1, 1, 1, 1, 1, 1,", max_tokens=24, frequency_penalty=2.0).choices[0].text
rep = complete(prompt="1, 1, 1, 1, 1, 1, 1, 1,", max_tokens=24, extra_body={"repetition_penalty": 1.5}).choices[0].text
check(base.count("1") > freq.count("1"), f"frequency_penalty repeats less: {base!r} -> {freq!r}")
cat = "The cat sat on the mat. The cat"
looped = complete(prompt=cat, max_tokens=24).choices[0].text
pres = complete(prompt=cat, max_tokens=24, presence_penalty=2.0).choices[0].text
check(pres.count("happy") < looped.count("happy"), f"presence_penalty repeats less: {looped!r} -> {pres!r}")
check(rep != base and rep.count("1") < base.count("1"), f"repetition_penalty (an extension) repeats less: {rep!r}")
again = complete(prompt="1, 1, 1, 1, 1, 1, 1, 1,", max_tokens=24, frequency_penalty=2.0).choices[0].text
check(again == freq, "penalties are deterministic")
ok, got = refused(lambda: chat(presence_penalty=3), 400, "presence_penalty", "invalid_value")
check(ok, f"presence_penalty 3 is refused ({got})")

# ---- echo ------------------------------------------------------------------------------------
prompt = "The capital of France is"
r = complete(prompt=prompt, max_tokens=4, echo=True)
plain = complete(prompt=prompt, max_tokens=4)
check(r.choices[0].text == prompt + plain.choices[0].text, f"echo: the prompt, then the completion ({r.choices[0].text!r})")
chunks = list(complete(prompt=prompt, max_tokens=4, echo=True, stream=True))
check(chunks[0].choices[0].text == prompt and "".join(c.choices[0].text for c in chunks) == r.choices[0].text,
      "echo, streamed: the prompt comes first")
ok, got = refused(lambda: complete(prompt=prompt, echo=True, logprobs=1), 400, "echo", "invalid_value")
check(ok, f"echo with logprobs is refused ({got})")

# ---- fields the server does not do ----------------------------------------------------------------
tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
cases = [
    ("tools", lambda: chat(tools=[tool])),
    ("tool_choice", lambda: chat(tool_choice="auto")),
    ("response_format", lambda: chat(response_format={"type": "json_object"})),
    ("logit_bias", lambda: chat(logit_bias={"1": 5})),
    ("suffix", lambda: complete(prompt="a", suffix="b")),
    ("best_of", lambda: complete(prompt="a", best_of=2)),
    ("top_k", lambda: chat(extra_body={"top_k": 5})),
    ("frobnicate", lambda: chat(extra_body={"frobnicate": 1})),
    ("echo", lambda: chat(extra_body={"echo": True})),
]
for field, call in cases:
    ok, got = refused(call, 400, field, "unsupported_parameter", field)
    check(ok, f"{field} is refused by name ({got})")
# Refusals come before a stream starts: a streamed request gets the same 400.
for field, call in [("tools", lambda: chat(tools=[tool], stream=True)),
                    ("model", lambda: chat(model="gpt-4o", stream=True)),
                    ("messages[0].content", lambda: chat(stream=True, messages=[{"role": "user", "content": [
                        {"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}]}]))]:
    try:
        call()
        check(False, f"streamed: {field} is refused")
    except openai.APIStatusError as e:
        check(e.status_code in (400, 404) and e.param == field, f"streamed: {field} is refused ({e.status_code} {e.code})")
parts = stream_text(chat(max_tokens=12, stream=True, messages=[{"role": "user", "content": [
    {"type": "text", "text": "What is the capital"}, {"type": "text", "text": "of France?"}]}]))
check(parts == chat_plain.choices[0].message.content, "streamed: text parts give the same answer")
inert = chat(max_tokens=4, response_format={"type": "text"}, logit_bias={}, extra_body={"tools": None}, n=1, user="u1")
check(inert.usage.completion_tokens >= 1, "fields that ask for nothing (text format, empty logit_bias, n 1, user) pass")
r = complete(prompt="a", best_of=1, suffix="", max_tokens=2)
check(r.usage.completion_tokens >= 1, "best_of 1 and an empty suffix pass")

# ---- errors as OpenAI writes them -------------------------------------------------------------------
try:
    chat(temperature=5)
    check(False, "temperature 5 is refused")
except openai.BadRequestError as e:
    check(e.type == "invalid_request_error" and e.param == "temperature" and e.code == "invalid_value"
          and "temperature" in e.message, f"error objects: message, type, param, code ({e.body})")

sys.exit(1 if failures else 0)
