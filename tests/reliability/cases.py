"""The bad-input case table: each case runs a real script on a broken input and must fail cleanly.

Clean means: exit code 2, exactly one line on stderr (``newsclf: error: ...``) naming the file / line / field
and what was expected, no traceback, and no output left behind (see :mod:`tests.reliability.harness`).
``tests/reliability/test_bad_input.py`` runs every case; ``scripts/gen_bad_input_table.py`` runs the same
list to write docs/bad_inputs.md. Add a case here and both pick it up.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from tests.reliability.harness import DATA_ROOT_ENV, Call, Case, Env, custom_data, write_jsonl

TEXT = "Shares rose as the bank reported quarterly profit."
TEN_MB = 10 * 1024 * 1024


# ----------------------------------------------------------------------------------------------- builders
def _file(work: Path, name: str, content: str | bytes) -> Path:
    path = work / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _jsonl(work: Path, *rows: dict, name: str = "in.jsonl") -> Path:
    return write_jsonl(work / name, list(rows))


def predict(ckpt: Path, source: Path | str, work: Path, *extra: str, stdin: bytes = b"") -> Call:
    out = work / "pred.jsonl"
    return Call("predict", [f"checkpoint={ckpt}", f"input={source}", f"output={out}", *extra], [out], stdin)


def evaluate(ckpt: Path | None, work: Path, *extra: str) -> Call:
    run = work / "run"
    args = [f"checkpoint={ckpt}"] if ckpt is not None else []
    return Call("evaluate", [*args, f"hydra.run.dir={run}", *extra], [run / "metrics.json", run / "report.md"],
                run_dir=run)


def train(work: Path, *args: str, unset: tuple[str, ...] = ()) -> Call:
    run = work / "run"
    return Call("train", [*args, f"hydra.run.dir={run}"], [run / "checkpoint", run / "metrics.json"],
                unset_env=unset, run_dir=run)


def topic_train(env: Env, work: Path, *extra: str, model: str = "tfidf", **splits: Path) -> Call:
    return train(work, *custom_data("topic", {**env.topic_data, **splits}, model=model), *extra)


def _semeval_root(work: Path, stance: str = "PRO") -> Path:
    """A data root with a SemEval-2016 training file whose line 3 has the stance ``stance``."""
    rows = ["ID\tTarget\tTweet\tStance", "1\tAtheism\tGod is great #SemST\tAGAINST",
            f"2\tAtheism\tno gods #SemST\t{stance}"]
    rows += [f"{i}\tAtheism\ttweet {i} #SemST\t{('AGAINST', 'FAVOR')[i % 2]}" for i in range(3, 11)]
    folder = work / "data" / "semeval2016_task6"
    folder.mkdir(parents=True)
    (folder / "semeval2016-task6-trainingdata.txt").write_bytes("\r\n".join(rows).encode("cp1252"))
    return work / "data"


def broken_checkpoint(env: Env, work: Path, edit: Callable[[Path], None]) -> Path:
    """A copy of the topic checkpoint with ``edit`` applied to it."""
    ckpt = work / "ckpt"
    shutil.copytree(env.topic, ckpt)
    edit(ckpt)
    return ckpt


def manifest_edit(**changes) -> Callable[[Path], None]:
    def edit(ckpt: Path) -> None:
        manifest = json.loads((ckpt / "manifest.json").read_text())
        for dotted, value in changes.items():
            node, *path = manifest, *dotted.split("__")
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        (ckpt / "manifest.json").write_text(json.dumps(manifest))

    return edit


def truncate_weights(ckpt: Path, fix_hash: bool = False) -> None:
    weights = ckpt / "model" / "arrays.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    if fix_hash:  # a payload whose manifest agrees with it: the loader itself must refuse it
        from newsclf.utils import fingerprint_file

        manifest = json.loads((ckpt / "manifest.json").read_text())
        manifest["payload_sha256"]["arrays.safetensors"] = fingerprint_file(weights)
        (ckpt / "manifest.json").write_text(json.dumps(manifest))


def not_a_checkpoint(work: Path) -> Path:
    """A run directory whose training never got as far as a checkpoint."""
    run = work / "crashed_run"
    (run / ".hydra").mkdir(parents=True)
    _file(run, "train.log", "")
    return run


def foreign_target(ckpt: Path) -> None:
    """A run config whose data source is a class that newsclf merely imports (pathlib.Path)."""
    text = (ckpt / "config.yaml").read_text()
    (ckpt / "config.yaml").write_text(text.replace("newsclf.data.sources.LocalFiles", "newsclf.data.sources.Path"))


def rows_then_bad_json(work: Path, n_good: int) -> Path:
    good = "".join(json.dumps({"id": str(i), "text": TEXT}) + "\n" for i in range(n_good))
    return _file(work, "late.jsonl", good + '{"id": "bad", "text": "unterminated\n')


def _row(**kw) -> dict:
    return {"id": "a1", "text": TEXT, **kw}


# ----------------------------------------------------------------------------------------------- the table
P = predict
CASES: list[Case] = [
    # --- input files (predict) ------------------------------------------------------------------------
    Case("empty_file", "empty input file", lambda w, e: P(e.topic, _file(w, "empty.jsonl", ""), w),
         r"empty\.jsonl: no documents found", subprocess=True),
    Case("blank_lines", "file of blank lines only", lambda w, e: P(e.topic, _file(w, "blank.jsonl", "\n \n\n"), w),
         r"blank\.jsonl: no documents found"),
    Case("empty_text", "empty text", lambda w, e: P(e.topic, _jsonl(w, _row(text="")), w),
         r"in\.jsonl:1: field 'text' is empty"),
    Case("whitespace_text", "text that is only white space",
         lambda w, e: P(e.topic, _jsonl(w, _row(), _row(id="a2", text=" \t\n\u00a0 ")), w),
         r"in\.jsonl:2: field 'text' is empty"),
    Case("invalid_json", "invalid JSON line (line number reported)",
         lambda w, e: P(e.topic, _file(w, "bad.jsonl", json.dumps(_row()) + '\n{"id": "a2", "text": \n'), w),
         r"bad\.jsonl:2: invalid JSON"),
    Case("invalid_json_late", "invalid JSON after 300 good lines (predictions already written)",
         lambda w, e: P(e.topic, rows_then_bad_json(w, 300), w, "batch_size=64"),
         r"late\.jsonl:301: invalid JSON", subprocess=True),
    Case("json_array", "a JSON array instead of an object",
         lambda w, e: P(e.topic, _file(w, "arr.jsonl", '["a1", "some text"]\n'), w),
         r"arr\.jsonl:1: expected a JSON object, found list"),
    Case("text_not_string", "text that is a number", lambda w, e: P(e.topic, _jsonl(w, _row(text=42)), w),
         r"in\.jsonl:1: field 'text' must be a string, found int"),
    Case("missing_text", "record without a text field",
         lambda w, e: P(e.topic, _jsonl(w, {"id": "a1", "body": TEXT}), w),
         r"in\.jsonl:1: missing field 'text'"),
    Case("csv_missing_column", "CSV without the text column",
         lambda w, e: P(e.topic, _file(w, "in.csv", "id,title\na1,Stocks\n"), w),
         r"in\.csv: missing column\(s\) \['text'\]"),
    Case("csv_extra_fields", "CSV row with more fields than the header",
         lambda w, e: P(e.topic, _file(w, "in.csv", f"id,text\na1,{TEXT}\na2,one,two\n"), w),
         r"in\.csv:3: more fields than the header"),
    Case("stance_no_body", "stance input without body (JSONL)",
         lambda w, e: P(e.stance, _jsonl(w, {"id": "p1", "headline": "Hoax claim"}), w),
         r"in\.jsonl:1: missing field 'body'"),
    Case("stance_csv_no_body", "stance input without body (CSV)",
         lambda w, e: P(e.stance, _file(w, "pairs.csv", "id,headline\np1,Hoax claim\n"), w),
         r"pairs\.csv: missing column\(s\) \['body'\]"),
    Case("non_utf8_jsonl", "non-UTF-8 bytes (Latin-1) in JSONL",
         lambda w, e: P(e.topic, _file(w, "latin1.jsonl", b'{"id": "a1", "text": "caf\xe9 cr\xe8me"}\n'), w),
         r"latin1\.jsonl:1: not valid UTF-8"),
    Case("non_utf8_csv", "non-UTF-8 bytes in CSV",
         lambda w, e: P(e.topic, _file(w, "latin1.csv", b"id,text\na1,caf\xe9\n"), w),
         r"latin1\.csv:2: not valid UTF-8 \(byte 6\)"),
    Case("non_utf8_txt", "non-UTF-8 bytes in a .txt document",
         lambda w, e: P(e.topic, _file(w, "latin1.txt", b"Caf\xe9 prices rose.\n"), w),
         r"latin1\.txt: not valid UTF-8"),
    Case("nul_json", "NUL character inside a JSON string",
         lambda w, e: P(e.topic, _jsonl(w, _row(text="Stocks\u0000rose")), w),
         r"in\.jsonl:1: field 'text' contains a NUL byte"),
    Case("nul_txt", "raw NUL byte in a .txt document",
         lambda w, e: P(e.topic, _file(w, "nul.txt", b"Stocks\x00rose today.\n"), w),
         r"nul\.txt:1: field 'text' contains a NUL byte"),
    Case("huge_jsonl", "10 MB single document (JSONL)",
         lambda w, e: P(e.topic, _jsonl(w, _row(text="word " * (TEN_MB // 5))), w),
         r"in\.jsonl:1: field 'text' has 10,485,760 characters; at most 1,000,000"),
    Case("huge_txt", "10 MB single document (.txt)",
         lambda w, e: P(e.topic, _file(w, "huge.txt", "word " * (TEN_MB // 5)), w),
         r"huge\.txt: larger than 4,000,000 bytes; a document may have at most 1,000,000 characters"),
    Case("duplicate_ids", "duplicate ids",
         lambda w, e: P(e.topic, _jsonl(w, _row(), _row(text="Another text.")), w),
         r"in\.jsonl:2: duplicate id 'a1' \(first seen at .*in\.jsonl:1\)"),
    Case("unknown_suffix", "unknown input suffix", lambda w, e: P(e.topic, _file(w, "in.xml", "<a/>"), w),
         r"in\.xml: unknown input format '\.xml'"),
    Case("input_is_folder", "a folder as input", lambda w, e: P(e.topic, w, w),
         r"is a folder; expected a \.jsonl/\.json/\.csv/\.txt file"),
    Case("input_missing", "input file that does not exist", lambda w, e: P(e.topic, w / "nope.jsonl", w),
         r"nope\.jsonl: input file does not exist"),
    Case("stdin_empty", "empty stdin (input=-)", lambda w, e: P(e.topic, "-", w, stdin=b""),
         r"<stdin>: no documents found", subprocess=True),
    Case("stdin_bad_json", "invalid JSON on stdin", lambda w, e: P(e.topic, "-", w, stdin=b"not json\n"),
         r"<stdin>:1: invalid JSON"),
    Case("bad_top_k", "top_k that is not a positive integer", lambda w, e: P(e.topic, _jsonl(w, _row()), w, "top_k=-1"),
         r"top_k: expected a positive integer or null, found -1"),
    Case("bad_decision", "decision= a rule that does not exist", lambda w, e: P(e.topic, _jsonl(w, _row()), w,
                                                                                "decision=best"),
         r"decision: expected one of \('argmax', 'fnc'\), found 'best'"),
    Case("decision_fnc_topic", "decision=fnc for labels the FNC-1 score cannot score",
         lambda w, e: P(e.topic, _jsonl(w, _row()), w, "decision=fnc"), r"decision: 'fnc' needs FNC-1 labels"),
    Case("output_missing_folder", "output path in a missing folder",
         lambda w, e: Call("predict", [f"checkpoint={e.topic}", f"input={_jsonl(w, _row())}",
                                       f"output={w / 'missing' / 'pred.jsonl'}"], [w / "missing"]),
         r"missing/pred\.jsonl: output folder .*missing does not exist", subprocess=True),
    # --- checkpoints (predict / evaluate) ---------------------------------------------------------------
    Case("checkpoint_missing", "checkpoint path that does not exist",
         lambda w, e: P(w / "no_such_run", _jsonl(w, _row()), w),
         r"checkpoint .*no_such_run does not exist", subprocess=True),
    Case("run_dir_not_checkpoint", "a run directory that is not a checkpoint",
         lambda w, e: P(not_a_checkpoint(w), _jsonl(w, _row()), w),
         r"is not a checkpoint \(expected a directory with manifest\.json"),
    Case("checkpoint_is_file", "a file given as checkpoint",
         lambda w, e: P(e.topic / "manifest.json", _jsonl(w, _row()), w),
         r"manifest\.json is not a checkpoint"),
    Case("manifest_version", "manifest with an unknown format version",
         lambda w, e: P(broken_checkpoint(e, w, manifest_edit(format_version=99)), _jsonl(w, _row()), w),
         r"manifest\.json: unknown format_version 99; this newsclf reads version 1"),
    Case("manifest_kind", "manifest naming a model kind outside the registry",
         lambda w, e: P(broken_checkpoint(e, w, manifest_edit(model_kind="os.system")), _jsonl(w, _row()), w),
         r"manifest\.json: unknown model_kind 'os\.system'; known kinds"),
    Case("manifest_not_json", "manifest that is not JSON",
         lambda w, e: P(broken_checkpoint(e, w, lambda c: _file(c, "manifest.json", "{oops")), _jsonl(w, _row()), w),
         r"manifest\.json: not valid JSON"),
    Case("manifest_traversal", "manifest file field with ../../x",
         lambda w, e: P(broken_checkpoint(e, w, manifest_edit(files__model="../../x")), _jsonl(w, _row()), w),
         r"field 'files\.model' must be a relative path inside the checkpoint, found '\.\./\.\./x'"),
    Case("weights_truncated", "truncated weights file",
         lambda w, e: P(broken_checkpoint(e, w, truncate_weights), _jsonl(w, _row()), w),
         r"arrays\.safetensors: sha256 does not match the manifest", subprocess=True),
    Case("config_damaged", "checkpoint whose config.yaml is not YAML (evaluate split=)",
         lambda w, e: evaluate(broken_checkpoint(e, w, lambda c: _file(c, "config.yaml", b"\x80\x04 [")), w,
                               "split=dev"),
         r"config\.yaml: not a readable run config"),
    Case("config_foreign_target", "checkpoint config naming a class outside newsclf (evaluate split=)",
         lambda w, e: evaluate(broken_checkpoint(e, w, foreign_target), w, "split=dev"),
         r"config _target_ 'newsclf\.data\.sources\.Path' is not allowed"),
    Case("weights_truncated_rehashed", "truncated weights whose manifest hash was updated to match",
         lambda w, e: P(broken_checkpoint(e, w, lambda c: truncate_weights(c, fix_hash=True)),
                        _jsonl(w, _row()), w),
         r"model: cannot load the tfidf\.v1 payload"),
    # --- evaluation files ---------------------------------------------------------------------------------
    Case("eval_unknown_label", "evaluation label unknown to the checkpoint",
         lambda w, e: evaluate(e.topic, w, f"input={_jsonl(w, _row(label='sports'), _row(id='a2', label='politics'))}"),
         r"in\.jsonl:2: label 'politics' is unknown to the checkpoint; expected one of", subprocess=True),
    Case("eval_int_labels", "integer labels where names are expected",
         lambda w, e: evaluate(e.topic, w, f"input={_jsonl(w, _row(label=2))}"),
         r"in\.jsonl:1: field 'label' is 2; expected a label name"),
    Case("eval_ag_ids", "AG-style 1-based class ids in a CSV",
         lambda w, e: evaluate(e.topic, w, f"input={_file(w, 'ag.csv', f'id,text,label{chr(10)}a1,{TEXT},3{chr(10)}')}"),
         r"ag\.csv:2: label '3' is unknown.*1-based class ids are not accepted"),
    Case("eval_bootstrap_group", "bootstrap intervals grouped by a field the records lack",
         lambda w, e: evaluate(e.topic, w, f"input={_jsonl(w, _row(label='business'))}", "bootstrap_group=story"),
         r"in\.jsonl:1: bootstrap_group='story', but the record has no 'story' value; expected one of its fields"),
    Case("eval_bootstrap_negative", "a negative number of bootstrap resamples",
         lambda w, e: evaluate(e.topic, w, f"input={_jsonl(w, _row(label='business'))}", "bootstrap=-5"),
         r"bootstrap=-5: expected a number of resamples >= 0"),
    Case("eval_missing_label", "evaluation record without a label",
         lambda w, e: evaluate(e.topic, w, f"input={_jsonl(w, _row())}"),
         r"in\.jsonl:1: missing field 'label'"),
    Case("eval_no_checkpoint", "evaluate without checkpoint=", lambda w, e: evaluate(None, w),
         r"config: 'checkpoint' has no value; pass checkpoint=\.\.\.", subprocess=True),
    Case("eval_unknown_split", "a split the data set does not have",
         lambda w, e: evaluate(e.topic, w, "split=validation"),
         r"split='validation': the data set has splits \['dev', 'test', 'train'\]"),
    # --- training -----------------------------------------------------------------------------------------
    Case("data_root_missing", "data root that does not exist",
         lambda w, e: train(w, "task=topic", f"data_root={w / 'no_data'}", unset=(DATA_ROOT_ENV,)),
         r"data root .*no_data does not exist", subprocess=True),
    Case("override_typo", "config override with a typo (data.trian)",
         lambda w, e: train(w, *custom_data("topic", e.topic_data), f"data.trian={e.topic_data['train']}"),
         r"data\.trian", subprocess=True, hydra=True),
    Case("unknown_model", "unknown config group option (model=tfdif)",
         lambda w, e: train(w, "task=topic", "model=tfdif"), r"model/tfdif", subprocess=True, hydra=True),
    Case("train_file_missing", "training file that does not exist",
         lambda w, e: topic_train(e, w, train=w / "nope.jsonl"), r"nope\.jsonl: input file does not exist"),
    Case("train_no_label", "training record without a label",
         lambda w, e: topic_train(e, w, train=_jsonl(w, _row(label="sports"), _row(id="a2"))),
         r"in\.jsonl:2: missing field 'label'"),
    Case("train_one_label", "training data with a single label",
         lambda w, e: topic_train(e, w, **dict.fromkeys(("train", "dev", "test"), _jsonl(
             w, _row(label="sports"), _row(id="a2", label="sports")))),
         r"training data has 1 label\(s\); need at least 2"),
    Case("dev_label_unseen", "dev label that training never saw",
         lambda w, e: topic_train(e, w, dev=_jsonl(w, _row(label="sports"), _row(id="a2", label="politics"),
                                                   name="dev.jsonl")),
         r"dev split, id 'a2': label 'politics' is not among the labels \['business', 'science', 'sports'\]"),
    Case("resume_missing", "resume= a run directory that does not exist",
         lambda w, e: topic_train(e, w, f"resume={w / 'gone'}", model="tiny_transformer"),
         r"resume=.*gone: no such run directory"),
    Case("resume_no_state", "resume= a folder without saved training state",
         lambda w, e: topic_train(e, w, f"resume={w}", model="tiny_transformer"),
         r"resume=.*: no saved training state in it"),
    Case("negative_max_train", "negative max_train_samples", lambda w, e: topic_train(e, w, "max_train_samples=-5"),
         r"max_train_samples: expected a number of examples \(>= 0\) or null for all, found -5"),
    Case("train_decision_fnc_topic", "task.decision=fnc on a topic data set", lambda w, e: topic_train(e, w,
                                                                                                   "task.decision=fnc"),
         r"task.decision: 'fnc' needs FNC-1 labels \('unrelated' and some of"),
    Case("train_new_claim_weights_topic", "task.new_claim_weights on a topic data set",
         lambda w, e: topic_train(e, w, "+task.new_claim_weights={disagree:1.5}"),
         r"task.new_claim_weights: weights among related labels need FNC-1 labels \('unrelated' and some of"),
    Case("train_bag_unknown_member", "model.bags naming a member the ensemble does not have",
         lambda w, e: topic_train(e, w, "+model@model.members.a=tfidf", "+model@model.members.b=tfidf",
                                  "+model.weights.a=1", "+model.weights.b=1", "+model.bags.c=2", model="ensemble"),
         r"model.bags: 'c' is not a member; expected one of \['a', 'b'\]"),
    Case("train_semeval_bad_stance", "SemEval-2016 training file with a stance outside FAVOR / AGAINST / NONE",
         lambda w, e: train(w, "task=target_stance", f"data_root={_semeval_root(w)}", unset=(DATA_ROOT_ENV,)),
         r"semeval2016-task6-trainingdata\.txt: line 3: Stance 'PRO' is not one of \('AGAINST', 'FAVOR', 'NONE'\)"),
    Case("train_fnc_metric_semeval", "task=stance (FNC score) on SemEval-2016's FAVOR / AGAINST / NONE labels",
         lambda w, e: train(w, "task=stance", "data=semeval2016", "data.test_file=null", "data.dev_fraction=0.5",
                            f"data_root={_semeval_root(w, 'FAVOR')}", unset=(DATA_ROOT_ENV,)),
         r"task.fnc_metric=true needs FNC-1 labels .* for \(target, text\) stance use task=target_stance"),
    Case("train_f_avg_unknown_label", "task.f_avg_labels naming a label the data set does not have",
         lambda w, e: topic_train(e, w, "+task.f_avg_labels=[sports,politics]"),
         r"task.f_avg_labels: \['politics'\] not among the labels \['business', 'science', 'sports'\]"),
]
