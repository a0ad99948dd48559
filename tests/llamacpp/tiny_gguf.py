"""Writes a tiny llama-architecture GGUF with random weights and a small SentencePiece-style
vocabulary: it answers nonsense, but llama.cpp loads it, tokenizes, batches and streams it like
any real model. Made at test time so that nothing is downloaded but PyPI packages.

Usage: python3 tiny_gguf.py OUT.gguf
"""

import sys

import gguf
import numpy as np

N_EMBD = 64
N_HEAD = 4
N_FF = 128
N_LAYER = 2
N_CTX = 2048

WORDS = (
    "the a of and to in is was it for on that with as at by this from or be are an not "
    "but have one all were we when there can which their if do will each about how up out "
    "them then she many some so these would other into has more her two like him see time "
    "could no make than first been its who now people my made over did down only way find "
    "use may water long little very after words called just where most know race token fast"
).split()


def vocab():
    """Tokens, scores and types: <unk>, <s>, </s>, the 256 byte fallbacks, letters, words."""
    tokens = [b"<unk>", b"<s>", b"</s>"]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    for byte in range(256):
        tokens.append(f"<0x{byte:02X}>".encode())
        types.append(gguf.TokenType.BYTE)
    pieces = ["\u2581"] + [chr(c) for c in range(ord("a"), ord("z") + 1)]
    pieces += ["\u2581" + w for w in WORDS]
    for piece in pieces:
        tokens.append(piece.encode())
        types.append(gguf.TokenType.NORMAL)
    scores = [0.0] * len(tokens)
    for i, token in enumerate(tokens):
        if types[i] == gguf.TokenType.NORMAL:
            # Longer pieces win merges, as in a trained SentencePiece model.
            scores[i] = float(len(token.decode())) - i * 1e-3
    return tokens, scores, types


def main(path):
    rng = np.random.default_rng(7)
    tokens, scores, types = vocab()
    n_vocab = len(tokens)
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name("llmrace-tiny-random")
    writer.add_context_length(N_CTX)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYER)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_chat_template(
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
        "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )

    def weights(*shape, scale=0.2):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    writer.add_tensor("token_embd.weight", weights(n_vocab, N_EMBD, scale=1.0))
    writer.add_tensor("output_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    # Only words and letters are ever sampled: never a control, unknown or byte token, so
    # answers are text that always runs to max_tokens (no end-of-sequence, no broken UTF-8).
    # The others' rows are zero, so their logit is 0, whatever the hidden state; a linear
    # layer cannot push them lower for every state. Instead the words come in pairs of
    # opposite rows: one of each pair is at least 0, so at least half the words score at
    # least every other token, and with more pairs than llama.cpp samples from (its top_k,
    # 40 by default) no other token is ever in the running.
    output = weights(n_vocab, N_EMBD, scale=1.0)
    normal = [i for i, kind in enumerate(types) if kind == gguf.TokenType.NORMAL]
    assert len(normal) // 2 > 40, "more word pairs than llama.cpp's top_k"
    for a, b in zip(normal[0::2], normal[1::2]):
        output[b] = -output[a]
    for i, kind in enumerate(types):
        if kind != gguf.TokenType.NORMAL:
            output[i] = 0.0
    writer.add_tensor("output.weight", output)
    for layer in range(N_LAYER):
        blk = f"blk.{layer}"
        writer.add_tensor(f"{blk}.attn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            writer.add_tensor(f"{blk}.{name}.weight", weights(N_EMBD, N_EMBD))
        writer.add_tensor(f"{blk}.ffn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        writer.add_tensor(f"{blk}.ffn_gate.weight", weights(N_FF, N_EMBD))
        writer.add_tensor(f"{blk}.ffn_up.weight", weights(N_FF, N_EMBD))
        writer.add_tensor(f"{blk}.ffn_down.weight", weights(N_EMBD, N_FF))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    main(sys.argv[1])
