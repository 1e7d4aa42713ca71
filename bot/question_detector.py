"""Does a channel message look like a question for the docs? The test behind ``auto`` mode.

A bot that answers "thanks!" with a doc quote gets muted, so the test leans to precision and
is one you can explain to a channel: a message is a question when one of its sentences

- ends with a question mark and has at least three words, or
- starts with a question word or a request ("how", "where", "can I", "is there", "help with",
  "anyone know", "I'm trying to", "getting an error"...), after any greeting ("hi all,"),

and is not social chatter: thanks, greetings, emoji, "lunch?", "how are you?", "anyone around?".
Measured on ``samples/channel-messages.jsonl`` by ``bench/question_detector.py``
(docs/benchmarks.md). Platform-neutral: adapters strip their mention syntax first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Verdict", "detect", "looks_like_question"]

MIN_WORDS = 3

_GREETING = re.compile(
    r"^(?:(?:hi|hello|hey|hiya|yo|morning|good (?:morning|afternoon|evening)|howdy|greetings)"
    r"(?:\s+(?:all|everyone|team|folks|there|y'all|guys|people|friends))?[\s,!.:-]*)+",
)
_START = re.compile(
    r"^(?:how|what|what's|whats|where|where's|when|why|which|who|whom|whose|"
    r"is there|are there|is it|is this|is that|is the|is my|are we|are the|"
    r"can i|can we|can someone|can anyone|can the|could i|could we|could someone|could anyone|"
    r"should i|should we|do i|do we|do you|does|did anyone|did i|have i|has anyone|"
    r"will|would|shall i|am i|"
    r"anyone know|anybody know|does anyone|does anybody|any idea|any ideas|any tips|any docs|"
    r"help with|help me|need help|i need help|need to know|looking for|i'm looking for|im looking for|"
    r"i'm trying to|im trying to|i am trying to|trying to|i can't|i cant|i cannot|can't|cant|unable to|"
    r"i'm getting|im getting|getting an? (?:error|exception|warning)|i keep getting|keep getting|"
    r"i get an? (?:error|exception)|"
    r"explain|show me|tell me|point me|please explain|wondering|i'm wondering|i was wondering|"
    r"is it possible|what's the|where do|where can|how to|how do|how does|how can)\b"
)
_CHATTER = re.compile(
    r"^(?:thanks|thank you|thx|ty|tysm|cheers|np|no problem|nice|cool|great|awesome|perfect|"
    r"ok|okay|k|kk|lol|lmao|haha|hehe|same|\+1|agreed|congrats|congratulations|welcome|"
    r"bye|see you|cya|good night|gn|brb|afk|omw|done|fixed|merged|shipped|deployed|deploying|"
    r"lgtm|sgtm|ack|noted|will do|on it|sure|yes|yeah|yep|no|nope)\b"
)
_SOCIAL = re.compile(
    r"\b(?:lunch|coffee|beer|drinks|dinner|breakfast|pizza|snack|cake|weekend|holiday|vacation|"
    r"birthday|party|standup|stand-up|offsite|movie|game)\b"
    r"|\bhow (?:are|r) (?:you|u|ya|things|we)\b|\bhow's it going\b|\bhows it going\b|\bhow was (?:your|the)\b"
    r"|\b(?:anyone|anybody|who'?s|is anyone|are you|you) (?:around|there|free|online|here|in|up for|coming|joining)\b"
    r"|\bwho(?:'s| is) (?:in|coming|joining|up for)\b|\bwhat time\b|\bwhere (?:are|r) (?:you|we) (?:at|going)\b"
)
_WORD = re.compile(r"[A-Za-z0-9_'./:-]+")
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
_DECORATION = re.compile(r"<[^>]*>|:[a-z0-9_+-]+:|https?://\S+", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    question: bool
    reason: str  # why, in words: shown by the benchmark for each miss


def detect(text: str) -> Verdict:
    """The verdict and its reason for one message (mentions and emoji codes are ignored)."""
    cleaned = _DECORATION.sub(" ", text).strip()
    if not _WORD.search(cleaned):
        return Verdict(False, "no words (emoji or punctuation only)")
    first: Verdict | None = None
    for sentence in _SENTENCES.split(cleaned):
        verdict = _sentence(" ".join(sentence.lower().split()))
        if verdict.question:
            return verdict
        first = first or verdict
    return first or Verdict(False, "no sentence asks anything")


def looks_like_question(text: str) -> bool:
    return detect(text).question


def _sentence(sentence: str) -> Verdict:
    body = _GREETING.sub("", sentence).strip(" ,.-")
    words = _WORD.findall(body)
    if len(words) < MIN_WORDS:
        return Verdict(False, "fewer than three words")
    if _CHATTER.match(body):
        return Verdict(False, "thanks, acknowledgement or status")
    if _SOCIAL.search(body):
        return Verdict(False, "social chatter")
    if _START.match(body):
        return Verdict(True, "starts with a question word or request")
    if body.endswith("?"):
        return Verdict(True, "ends with a question mark")
    return Verdict(False, "a statement")
