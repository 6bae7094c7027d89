/* The filter's scan in C: folded text -> the entity and phrase hits that count.
 *
 * Why: the Aho-Corasick walk (ahocorasick_rs) over every byte was 37% of
 * Matcher.match and the Python work per raw hit most of the rest of the scan
 * (bench/README.md, filter, Session 11). A pattern that starts with an ASCII letter or
 * digit counts only at a word start, and one that ends with one only at a word end, so
 * this index looks at word starts alone for those (one hash probe of the first word,
 * then of each candidate length that ends on a word end) and at each character for the
 * rest (CJK: a bigram filter, then the lengths that start with that bigram). Substrings
 * are hashed in O(1) from prefix hashes and checked character by character. The hits
 * that pass their boundary checks are sorted by (end, start), the order the
 * automaton reports them in, and go through the same loop as crawler.matcher._scan_hits
 * (the automaton and that loop stay the reference and the fallback: crawler/native.py;
 * tests/crawler/test_native.py holds the two equal).
 *
 * Built by setup.py when a C compiler is there; the CPython C API alone.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ASCII letters and digits (crawler.matcher._WORD_CHARS), by code point below 256: a load
 * where three range checks were (the walk asks at every character of Latin text). */
static const uint8_t WORD_CHAR[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static inline int
is_word(Py_UCS4 c)
{
    return c < 256 && WORD_CHAR[c]; /* a 1-byte string's characters need no bound check */
}

/* ------------------------------------------------------------------------------------ */
/* The per-hit loop: crawler.matcher._scan_hits after its boundary checks.              */

typedef struct {
    PyObject *entity_hits, *phrase_hits, *exact_spans; /* owned */
    PyObject *text, *offsets, *normalize;              /* borrowed */
    Py_ssize_t last_end;
    int tangled;
} Collect;

static int
append3(PyObject *list, PyObject *a, PyObject *b, PyObject *c)
{
    PyObject *item = PyTuple_Pack(3, a, b, c);
    if (item == NULL) {
        return -1;
    }
    int failed = PyList_Append(list, item);
    Py_DECREF(item);
    return failed;
}

static int
entity_hit(Collect *out, PyObject *start, PyObject *end, PyObject *key, Py_ssize_t s,
           Py_ssize_t e)
{
    if (append3(out->entity_hits, start, end, key) < 0) {
        return -1;
    }
    if (s < out->last_end) {
        out->tangled = 1;
    }
    out->last_end = e;
    return 0;
}

/* text[offsets[s]:offsets[e]] (offsets None: text[s:e]), clamped as a slice is. */
static PyObject *
original_slice(Collect *out, Py_ssize_t s, Py_ssize_t e)
{
    if (out->offsets != Py_None) {
        Py_ssize_t n = PyList_GET_SIZE(out->offsets);
        if (s >= n || e >= n) {
            PyErr_SetString(PyExc_IndexError, "offset out of range");
            return NULL;
        }
        s = PyLong_AsSsize_t(PyList_GET_ITEM(out->offsets, s));
        e = PyLong_AsSsize_t(PyList_GET_ITEM(out->offsets, e));
        if ((s == -1 || e == -1) && PyErr_Occurred()) {
            return NULL;
        }
    }
    Py_ssize_t size = PyUnicode_GET_LENGTH(out->text);
    s = s < 0 ? 0 : (s > size ? size : s);
    e = e < s ? s : (e > size ? size : e);
    return PyUnicode_Substring(out->text, s, e);
}

static int
add_exact_span(Collect *out, PyObject *start, PyObject *end, PyObject *key)
{
    PyObject *span = PyTuple_Pack(2, start, end);
    if (span == NULL) {
        return -1;
    }
    PyObject *keys = PyDict_GetItemWithError(out->exact_spans, span);
    if (keys == NULL) {
        if (PyErr_Occurred() || (keys = PySet_New(NULL)) == NULL) {
            Py_DECREF(span);
            return -1;
        }
        int failed = PyDict_SetItem(out->exact_spans, span, keys);
        Py_DECREF(keys); /* the dict holds it */
        if (failed < 0) {
            Py_DECREF(span);
            return -1;
        }
    }
    Py_DECREF(span);
    return PySet_Add(keys, key);
}

/* One hit that passed its boundary checks; `term` is its 7-field _Pattern. */
static int
collect(Collect *out, PyObject *term, PyObject *start, PyObject *end, Py_ssize_t s, Py_ssize_t e)
{
    /* left_boundary, right_boundary, phrase, key, keys, exacts, phrases */
    PyObject *phrase = PyTuple_GET_ITEM(term, 2), *key = PyTuple_GET_ITEM(term, 3);
    if (phrase != Py_None) {
        return append3(out->phrase_hits, start, end, phrase);
    }
    if (key != Py_None) {
        return entity_hit(out, start, end, key, s, e);
    }
    PyObject *keys = PyTuple_GET_ITEM(term, 4), *exacts = PyTuple_GET_ITEM(term, 5);
    PyObject *phrases = PyTuple_GET_ITEM(term, 6);
    if (!PyTuple_Check(keys) || !PyTuple_Check(exacts) || !PyTuple_Check(phrases)) {
        PyErr_SetString(PyExc_TypeError, "keys, exacts and phrases are tuples");
        return -1;
    }
    for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(phrases); j++) {
        if (append3(out->phrase_hits, start, end, PyTuple_GET_ITEM(phrases, j)) < 0) {
            return -1;
        }
    }
    if (PyTuple_GET_SIZE(exacts) > 0) {
        PyObject *original = original_slice(out, s, e);
        if (original == NULL) {
            return -1;
        }
        /* NFKC leaves ASCII as it is: an ASCII original is compared as written ("us",
         * "US": exact-case acronyms at every whole word of English text). */
        PyObject *written = PyUnicode_IS_ASCII(original)
                                ? original
                                : PyObject_CallOneArg(out->normalize, original);
        if (written != original) {
            Py_DECREF(original);
        }
        if (written == NULL) {
            return -1;
        }
        for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(exacts); j++) {
            PyObject *pair = PyTuple_GET_ITEM(exacts, j);
            int equal = -1;
            if (PyTuple_Check(pair) && PyTuple_GET_SIZE(pair) == 2) {
                equal = PyObject_RichCompareBool(written, PyTuple_GET_ITEM(pair, 1), Py_EQ);
            }
            else {
                PyErr_SetString(PyExc_TypeError, "an exact is (key, form)");
            }
            if (equal > 0) {
                PyObject *exact_key = PyTuple_GET_ITEM(pair, 0);
                if (entity_hit(out, start, end, exact_key, s, e) < 0 ||
                    add_exact_span(out, start, end, exact_key) < 0) {
                    equal = -1;
                }
            }
            if (equal < 0) {
                Py_DECREF(written);
                return -1;
            }
        }
        Py_DECREF(written);
    }
    for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(keys); j++) {
        if (entity_hit(out, start, end, PyTuple_GET_ITEM(keys, j), s, e) < 0) {
            return -1;
        }
    }
    return 0;
}

static int
collect_init(Collect *out, PyObject *text, PyObject *offsets, PyObject *normalize)
{
    out->entity_hits = PyList_New(0);
    out->phrase_hits = PyList_New(0);
    out->exact_spans = PyDict_New();
    out->text = text;
    out->offsets = offsets;
    out->normalize = normalize;
    out->last_end = 0;
    out->tangled = 0;
    return out->entity_hits && out->phrase_hits && out->exact_spans ? 0 : -1;
}

static PyObject *
collect_result(Collect *out)
{
    PyObject *result = PyTuple_Pack(4, out->entity_hits, out->phrase_hits, out->exact_spans,
                                    out->tangled ? Py_True : Py_False);
    Py_DECREF(out->entity_hits);
    Py_DECREF(out->phrase_hits);
    Py_DECREF(out->exact_spans);
    return result;
}

static void
collect_drop(Collect *out)
{
    Py_XDECREF(out->entity_hits);
    Py_XDECREF(out->phrase_hits);
    Py_XDECREF(out->exact_spans);
}

static int
check_term(PyObject *term)
{
    if (!PyTuple_Check(term) || PyTuple_GET_SIZE(term) != 7) {
        PyErr_SetString(PyExc_TypeError, "a term is a 7-field _Pattern");
        return -1;
    }
    return 0;
}

static int
check_args(PyObject *haystack, PyObject *terms, PyObject *text, PyObject *offsets)
{
    if (!PyUnicode_Check(haystack) || !(PyList_Check(terms) || PyTuple_Check(terms)) ||
        !PyUnicode_Check(text) ||
        (offsets != Py_None && !PyList_Check(offsets))) {
        PyErr_SetString(PyExc_TypeError, "expected str, list | tuple, str, list | None, callable");
        return -1;
    }
    return PyUnicode_READY(haystack) < 0 || PyUnicode_READY(text) < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------------------------ */
/* The index: every pattern by (hash, length); candidate lengths by first word or bigram. */

#define HASH_BASE 0x100000001B3ULL /* odd: a polynomial hash over code points, mod 2^64 */
#define NO_CHAR 0x110000           /* past every code point: "no second character" */

typedef struct {
    uint64_t hash;
    int32_t length; /* 0: an empty slot */
    int32_t index;  /* the pattern's index */
} PatternSlot;

typedef struct {
    uint64_t key;   /* a first word's hash (with its length mixed in), or a bigram; 0: unused */
    int32_t first;  /* ends[first : first + count], by length */
    uint32_t count : 31;
    uint32_t split : 1; /* more candidates under the key one word (or character) longer */
} LengthSlot;

typedef struct {
    PyObject_HEAD
    Py_ssize_t n_patterns;
    Py_UCS4 **chars;  /* each pattern's code points */
    uint8_t *longer;     /* is the pattern filed under its longer key? */
    PatternSlot *patterns;
    size_t patterns_mask;
    LengthSlot *words, *bigrams; /* first word (ASCII letter/digit start) / first two chars */
    size_t words_mask, bigrams_mask;
    struct End { int32_t length; Py_UCS4 last; } *ends; /* a candidate: length, last char */
    Py_ssize_t n_ends;
    Py_ssize_t longest;
    /* Bit sets that keep most probes out of the tables (which miss the cache): may a
     * pattern be this (hash, length), start with this first word, this bigram, this
     * character (below U+10000)? */
    uint8_t *pattern_filter, *word_filter, *bigram_filter, *first_filter;
    int singles; /* is any pattern one character long (not a letter or digit)? */
    /* Characters below 256: START_WORD for a letter or digit, START_FIRST when some pattern
     * starts with it (first_filter's bit): what the walk asks of each character of Latin
     * text, in one load. */
    uint8_t latin_start[256];
} Index;

#define START_WORD 1
#define START_FIRST 2

#define PATTERN_BITS 20
#define WORD_BITS 18
#define BIGRAM_BITS 18

static inline void
filter_add(uint8_t *filter, int bits, uint64_t key)
{
    key = (key >> 7) & ((1ULL << bits) - 1); /* the table probes use the low bits */
    filter[key >> 3] |= (uint8_t)(1 << (key & 7));
}

static inline int
filter_has(const uint8_t *filter, int bits, uint64_t key)
{
    key = (key >> 7) & ((1ULL << bits) - 1);
    return filter[key >> 3] & (1 << (key & 7));
}

static inline uint64_t
pattern_key(uint64_t hash, Py_ssize_t length)
{
    return hash ^ ((uint64_t)length * 0x9E3779B97F4A7C15ULL);
}

static inline uint64_t
mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDULL;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ULL;
    x ^= x >> 33;
    return x;
}

static inline uint64_t
word_key(uint64_t hash, Py_ssize_t length)
{
    return mix(hash ^ ((uint64_t)length << 48)) | 1; /* never 0 */
}

static inline uint64_t
bigram_key(Py_UCS4 a, Py_UCS4 b)
{
    return mix(((uint64_t)a << 21) | (uint64_t)b) | 1;
}

/* A cheaper hash of the same pair, for the filter that most characters stop at. */
static inline uint64_t
trigram_key(Py_UCS4 a, Py_UCS4 b, Py_UCS4 c)
{
    return mix(bigram_key(a, b) ^ ((uint64_t)c * 0x9E3779B97F4A7C15ULL)) | 1;
}

static inline uint64_t
bigram_cheap(Py_UCS4 a, Py_UCS4 b)
{
    return ((uint64_t)a * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)b * 0xC2B2AE3D27D4EB4FULL);
}

static size_t
table_size(Py_ssize_t n)
{
    size_t size = 16;
    while (size < (size_t)n * 2 + 1) {
        size <<= 1;
    }
    return size;
}

static LengthSlot *
length_slot(LengthSlot *table, size_t mask, uint64_t key, int create)
{
    for (size_t at = (size_t)key & mask;; at = (at + 1) & mask) {
        if (table[at].key == key) {
            return &table[at];
        }
        if (table[at].key == 0) {
            if (!create) {
                return NULL;
            }
            table[at].key = key;
            return &table[at];
        }
    }
}

static void
Index_dealloc(Index *self)
{
    if (self->chars != NULL) {
        for (Py_ssize_t i = 0; i < self->n_patterns; i++) {
            PyMem_Free(self->chars[i]);
        }
    }
    PyMem_Free(self->chars);
    PyMem_Free(self->longer);
    PyMem_Free(self->patterns);
    PyMem_Free(self->words);
    PyMem_Free(self->bigrams);
    PyMem_Free(self->ends);
    PyMem_Free(self->pattern_filter);
    PyMem_Free(self->word_filter);
    PyMem_Free(self->bigram_filter);
    PyMem_Free(self->first_filter);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Candidate (pattern, length) pairs of one table, gathered before the lengths are laid out. */
typedef struct {
    uint64_t key;
    uint64_t longer; /* the key through the second word (or third character); 0: none */
    Py_ssize_t index; /* the pattern's */
    int32_t length;
    Py_UCS4 last;
    int32_t word; /* 1: the words table, 0: bigrams */
    int32_t split; /* filed under `longer`: its `key` slot says so */
} Pending;

/* Keys with more candidates than this file those that have a longer key under it (the
 * first two words, the first three characters): "the", "in", 稳定 start hundreds. */
#define SPLIT_OVER 8

static int
compare_keys(const void *a, const void *b)
{
    const Pending *x = a, *y = b;
    if (x->word != y->word) {
        return x->word - y->word;
    }
    return x->key == y->key ? 0 : (x->key < y->key ? -1 : 1);
}

static int
compare_pending(const void *a, const void *b)
{
    const Pending *x = a, *y = b;
    if (x->word != y->word) {
        return x->word - y->word;
    }
    if (x->key != y->key) {
        return x->key < y->key ? -1 : 1;
    }
    if (x->length != y->length) {
        return x->length < y->length ? -1 : 1;
    }
    return (x->last > y->last) - (x->last < y->last);
}

static int
Index_init(Index *self, PyObject *args, PyObject *kwargs)
{
    PyObject *patterns;
    if (!PyArg_ParseTuple(args, "O!:Index", &PyList_Type, &patterns)) {
        return -1;
    }
    if (self->chars != NULL) {
        PyErr_SetString(PyExc_TypeError, "Index is built once");
        return -1;
    }
    Py_ssize_t n = PyList_GET_SIZE(patterns);
    self->n_patterns = n;
    self->chars = PyMem_Calloc(n ? n : 1, sizeof(Py_UCS4 *));
    self->longer = PyMem_Calloc(n ? n : 1, 1);
    self->patterns_mask = table_size(n) - 1;
    self->patterns = PyMem_Calloc(self->patterns_mask + 1, sizeof(PatternSlot));
    self->pattern_filter = PyMem_Calloc(1 << (PATTERN_BITS - 3), 1);
    self->word_filter = PyMem_Calloc(1 << (WORD_BITS - 3), 1);
    self->bigram_filter = PyMem_Calloc(1 << (BIGRAM_BITS - 3), 1);
    self->first_filter = PyMem_Calloc(1 << (16 - 3), 1);
    Pending *pending = PyMem_Calloc(n ? n : 1, sizeof(Pending));
    if (!self->chars || !self->longer || !self->patterns ||
        !self->pattern_filter || !self->word_filter || !self->bigram_filter ||
        !self->first_filter || !pending) {
        PyMem_Free(pending);
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t longest = 1, n_words = 0, n_bigrams = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pattern = PyList_GET_ITEM(patterns, i);
        if (!PyUnicode_Check(pattern) || PyUnicode_READY(pattern) < 0) {
            PyErr_SetString(PyExc_TypeError, "patterns are str");
            goto fail;
        }
        Py_ssize_t length = PyUnicode_GET_LENGTH(pattern);
        if (length == 0 || length > INT32_MAX / 2) {
            PyErr_SetString(PyExc_ValueError, "a pattern is empty or too long");
            goto fail;
        }
        self->chars[i] = PyUnicode_AsUCS4Copy(pattern);
        if (self->chars[i] == NULL) {
            goto fail;
        }
        longest = length > longest ? length : longest;
        const Py_UCS4 *c = self->chars[i];
        uint64_t hash = 0, first_word = 0;
        Py_ssize_t word_length = 0;
        for (Py_ssize_t k = 0; k < length; k++) {
            hash = hash * HASH_BASE + c[k];
            if (word_length == k && is_word(c[k])) {
                word_length = k + 1;
                first_word = hash;
            }
        }
        uint64_t key = mix(pattern_key(hash, length));
        filter_add(self->pattern_filter, PATTERN_BITS, key);
        for (size_t at = (size_t)key & self->patterns_mask;; at = (at + 1) & self->patterns_mask) {
            PatternSlot *slot = &self->patterns[at];
            if (slot->length == 0) {
                slot->hash = hash;
                slot->length = (int32_t)length;
                slot->index = (int32_t)i;
                break;
            }
            if (slot->hash == hash && slot->length == length &&
                memcmp(self->chars[slot->index], c, length * sizeof(Py_UCS4)) == 0) {
                PyErr_SetString(PyExc_ValueError, "patterns are distinct");
                goto fail;
            }
        }
        if (word_length > 0) { /* starts with an ASCII letter or digit: at word starts only */
            uint64_t longer = 0, through = first_word;
            Py_ssize_t k = word_length;
            while (k < length && !is_word(c[k])) {
                through = through * HASH_BASE + c[k++];
            }
            if (k < length) { /* a second word: the key through it */
                while (k < length && is_word(c[k])) {
                    through = through * HASH_BASE + c[k++];
                }
                longer = word_key(through, k);
            }
            pending[i] = (Pending){word_key(first_word, word_length), longer, i,
                                   (int32_t)length, c[length - 1], 1, 0};
            filter_add(self->word_filter, WORD_BITS, pending[i].key);
            n_words++;
        }
        else {
            Py_UCS4 second = length > 1 ? c[1] : NO_CHAR;
            uint64_t key = bigram_key(c[0], second);
            uint64_t longer = length > 2 ? trigram_key(c[0], c[1], c[2]) : 0;
            pending[i] = (Pending){key, longer, i, (int32_t)length, c[length - 1], 0, 0};
            filter_add(self->bigram_filter, BIGRAM_BITS, bigram_cheap(c[0], second));
            self->singles |= length == 1;
            if (c[0] < 0x10000) {
                self->first_filter[c[0] >> 3] |= (uint8_t)(1 << (c[0] & 7));
            }
            n_bigrams++;
        }
    }
    /* A key with many candidates files those with a longer key under that one. */
    qsort(pending, n, sizeof(Pending), compare_keys);
    Py_ssize_t n_split = 0;
    for (Py_ssize_t i = 0, j; i < n; i = j) {
        for (j = i; j < n && compare_keys(&pending[i], &pending[j]) == 0; j++) {
        }
        if (j - i <= SPLIT_OVER) {
            continue;
        }
        for (Py_ssize_t k = i; k < j; k++) {
            if (pending[k].longer != 0) {
                pending[k].split = 1;
                n_split++;
            }
        }
    }
    n_words += n_split; /* room for the longer keys (an upper bound) */
    n_bigrams += n_split;
    qsort(pending, n, sizeof(Pending), compare_pending);
    self->words_mask = table_size(n_words) - 1;
    self->bigrams_mask = table_size(n_bigrams) - 1;
    self->words = PyMem_Calloc(self->words_mask + 1, sizeof(LengthSlot));
    self->bigrams = PyMem_Calloc(self->bigrams_mask + 1, sizeof(LengthSlot));
    self->ends = PyMem_Calloc(n ? n : 1, sizeof(struct End));
    if (!self->words || !self->bigrams || !self->ends) {
        PyErr_NoMemory();
        goto fail;
    }
    self->longest = longest;
    for (Py_ssize_t i = 0; i < n; i++) { /* the split keys first: their slots say so */
        Pending *p = &pending[i];
        if (p->split) {
            LengthSlot *table = p->word ? self->words : self->bigrams;
            length_slot(table, p->word ? self->words_mask : self->bigrams_mask, p->key, 1)
                ->split = 1;
            p->key = p->longer;
            self->longer[p->index] = 1;
            filter_add(p->word ? self->word_filter : self->bigram_filter,
                       p->word ? WORD_BITS : BIGRAM_BITS, p->key);
        }
    }
    qsort(pending, n, sizeof(Pending), compare_pending);
    for (Py_ssize_t i = 0; i < n; i++) { /* distinct (length, last) per key, by length */
        Pending *p = &pending[i];
        LengthSlot *slot = p->word ? length_slot(self->words, self->words_mask, p->key, 1)
                                   : length_slot(self->bigrams, self->bigrams_mask, p->key, 1);
        if (slot->count == 0) {
            slot->first = (int32_t)self->n_ends;
        }
        struct End *previous = slot->count ? &self->ends[self->n_ends - 1] : NULL;
        if (previous == NULL || previous->length != p->length || previous->last != p->last) {
            self->ends[self->n_ends++] = (struct End){p->length, p->last};
            slot->count++;
        }
    }
    for (Py_UCS4 c = 0; c < 256; c++) {
        self->latin_start[c] = (uint8_t)((WORD_CHAR[c] ? START_WORD : 0) |
                                         ((self->first_filter[c >> 3] & (1 << (c & 7))) ? START_FIRST
                                                                                       : 0));
    }
    PyMem_Free(pending);
    return 0;
fail:
    PyMem_Free(pending);
    return -1;
}

/* The pattern that text[start:start + length] is (its hash: `hash`), or -1. */
static inline Py_ssize_t
find_pattern(Index *self, uint64_t hash, int kind, const void *data, Py_ssize_t start,
             Py_ssize_t length)
{
    uint64_t key = mix(pattern_key(hash, length));
    if (!filter_has(self->pattern_filter, PATTERN_BITS, key)) {
        return -1;
    }
    for (size_t at = (size_t)key & self->patterns_mask;; at = (at + 1) & self->patterns_mask) {
        PatternSlot *slot = &self->patterns[at];
        if (slot->length == 0) {
            return -1;
        }
        if (slot->hash == hash && slot->length == length) {
            const Py_UCS4 *c = self->chars[slot->index];
            Py_ssize_t k = 0;
            while (k < length && PyUnicode_READ(kind, data, start + k) == c[k]) {
                k++;
            }
            if (k == length) {
                return slot->index;
            }
        }
    }
}

typedef struct {
    Py_ssize_t end, start, index;
} Found;

static int
compare_found(const void *a, const void *b)
{
    const Found *x = a, *y = b;
    if (x->end != y->end) {
        return x->end < y->end ? -1 : 1;
    }
    return (x->start > y->start) - (x->start < y->start); /* the longer first, as the automaton */
}

typedef struct {
    Found *items;
    Py_ssize_t count, capacity;
    Py_ssize_t limit; /* no hit ends past this */
} FoundList;

static int
found_add(FoundList *list, Py_ssize_t start, Py_ssize_t end, Py_ssize_t index)
{
    if (list->count == list->capacity) {
        Py_ssize_t capacity = list->capacity ? list->capacity * 2 : 64;
        Found *items = PyMem_Realloc(list->items, capacity * sizeof(Found));
        if (items == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        list->items = items;
        list->capacity = capacity;
    }
    list->items[list->count++] = (Found){end, start, index};
    return 0;
}

/* Try each candidate length at `start`; keep the patterns whose boundaries hold. */
#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

static ALWAYS_INLINE int
try_lengths(Index *self, const LengthSlot *slot, int longer, PyObject *terms, uint64_t hash,
            Py_ssize_t hashed, int kind, const void *data, Py_ssize_t size, Py_ssize_t start,
            FoundList *found)
{
    /* longer: the slot of a longer key, which finds only the patterns filed there (a
     * candidate length is a length, and the other slot may hold it too) */
    /* hash: of text[start:hashed], extended as the (ascending) lengths need */
    const struct End *ends = self->ends + slot->first;
    for (int32_t j = 0; j < slot->count; j++) {
        Py_ssize_t end = start + ends[j].length;
        if (end > found->limit) {
            break;
        }
        if (PyUnicode_READ(kind, data, end - 1) != ends[j].last) {
            continue;
        }
        /* A pattern ending in a letter or digit needs a word end (right_boundary). */
        if (end < size && is_word(PyUnicode_READ(kind, data, end)) &&
            is_word(PyUnicode_READ(kind, data, end - 1))) {
            continue;
        }
        for (; hashed < end; hashed++) {
            hash = hash * HASH_BASE + PyUnicode_READ(kind, data, hashed);
        }
        Py_ssize_t index = find_pattern(self, hash, kind, data, start, ends[j].length);
        if (index < 0 || self->longer[index] != longer) {
            continue;
        }
        if (terms != NULL) { /* NULL (find): a pattern's own first and last characters say */
            PyObject *term = PySequence_Fast_GET_ITEM(terms, index);
            if (check_term(term) < 0) {
                return -1;
            }
            if (PyTuple_GET_ITEM(term, 0) == Py_True && start > 0 &&
                is_word(PyUnicode_READ(kind, data, start - 1))) {
                continue;
            }
            if (PyTuple_GET_ITEM(term, 1) == Py_True && end < size &&
                is_word(PyUnicode_READ(kind, data, end))) {
                continue;
            }
        }
        if (found_add(found, start, end, index) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Every pattern in the haystack whose boundaries hold, into `found` sorted by (end,
 * start): the order of the automaton's overlapping matches. terms: the _Patterns, or
 * NULL (the patterns' own first and last characters set their boundaries). */
static ALWAYS_INLINE int
walk_kind(Index *self, PyObject *terms, PyObject *haystack, Py_ssize_t lo, Py_ssize_t hi,
          FoundList *found_list, const int kind)
{
    /* lo, hi: the hits that start at or after lo and end at or before hi (0 <= lo <= hi <=
     * the size), their boundaries checked against the whole haystack */
    const void *data = PyUnicode_DATA(haystack);
    const Py_ssize_t size = PyUnicode_GET_LENGTH(haystack);
    FoundList found = *found_list;
    found.limit = hi;
    /* is the previous character an ASCII letter or digit? */
    int after_word = lo > 0 && is_word(PyUnicode_READ(kind, data, lo - 1));
    for (Py_ssize_t start = lo; start < hi; start++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, start);
        unsigned starts = c < 256 ? self->latin_start[c] : 0;
        if (starts & START_WORD) {
            if (after_word) {
                continue; /* inside a word: only patterns that need a word start begin here */
            }
            after_word = 1;
            uint64_t hash = c;
            Py_ssize_t end = start + 1;
            Py_UCS4 more;
            /* no bound check: the string's terminating NUL is no word character (walk) */
            while (is_word(more = PyUnicode_READ(kind, data, end))) {
                hash = hash * HASH_BASE + more;
                end++;
            }
            const Py_ssize_t word_end = end; /* the word's other characters start nothing */
            if (end - start > self->longest) {
                goto next_word;
            }
            uint64_t key = word_key(hash, end - start);
            if (!filter_has(self->word_filter, WORD_BITS, key)) {
                goto next_word;
            }
            const LengthSlot *slot = length_slot(self->words, self->words_mask, key, 0);
            if (slot == NULL) {
                goto next_word;
            }
            if (slot->count > 0 && try_lengths(self, slot, 0, terms, hash, end, kind, data, size,
                                               start, &found) < 0) {
                goto fail;
            }
            if (slot->split) { /* the candidates filed under the first two words */
                Py_ssize_t k = end;
                while (k < size && k - start < self->longest &&
                       !is_word(more = PyUnicode_READ(kind, data, k))) {
                    hash = hash * HASH_BASE + more;
                    k++;
                }
                if (k == end || k >= size || k - start >= self->longest) {
                    goto next_word;
                }
                while (k < size && is_word(more = PyUnicode_READ(kind, data, k))) {
                    hash = hash * HASH_BASE + more;
                    k++;
                }
                if (k - start > self->longest) {
                    goto next_word;
                }
                key = word_key(hash, k - start);
                if (!filter_has(self->word_filter, WORD_BITS, key)) {
                    goto next_word;
                }
                slot = length_slot(self->words, self->words_mask, key, 0);
                if (slot != NULL && try_lengths(self, slot, 1, terms, hash, k, kind, data, size,
                                                start, &found) < 0) {
                    goto fail;
                }
            }
        next_word:
            start = word_end - 1; /* on to the word's end: its other characters start nothing */
            continue;
        }
        after_word = 0;
        if (c < 256 ? !(starts & START_FIRST)
                    : c < 0x10000 && !(self->first_filter[c >> 3] & (1 << (c & 7)))) {
            continue; /* no pattern starts with this character */
        }
        Py_UCS4 next = start + 1 < size ? PyUnicode_READ(kind, data, start + 1) : NO_CHAR;
        int passes = self->singles ? 2 : 1;
        for (int pass = next == NO_CHAR; pass < passes; pass++) { /* two+ chars, then one */
            Py_UCS4 second = pass ? NO_CHAR : next;
            if (!filter_has(self->bigram_filter, BIGRAM_BITS, bigram_cheap(c, second))) {
                continue;
            }
            uint64_t key = bigram_key(c, second);
            const LengthSlot *slot = length_slot(self->bigrams, self->bigrams_mask, key, 0);
            if (slot == NULL) {
                continue;
            }
            if (slot->count > 0 &&
                try_lengths(self, slot, 0, terms, 0, start, kind, data, size, start, &found) < 0) {
                goto fail;
            }
            if (slot->split && start + 2 < size) { /* those filed under three characters */
                key = trigram_key(c, second, PyUnicode_READ(kind, data, start + 2));
                if (!filter_has(self->bigram_filter, BIGRAM_BITS, key)) {
                    continue;
                }
                slot = length_slot(self->bigrams, self->bigrams_mask, key, 0);
                if (slot != NULL && try_lengths(self, slot, 1, terms, 0, start, kind, data, size,
                                                start, &found) < 0) {
                    goto fail;
                }
            }
        }
    }
    if (found.count > 1) {
        qsort(found.items, found.count, sizeof(Found), compare_found);
    }
    *found_list = found;
    return 0;
fail:
    *found_list = found;
    return -1;
}

/* walk_kind compiled once per string kind: each character read is then one load. */
static int
walk(Index *self, PyObject *terms, PyObject *haystack, Py_ssize_t lo, Py_ssize_t hi,
     FoundList *found_list)
{
    /* CPython ends every ready string's characters with a NUL, which walk_kind's word loops
     * stop at instead of checking the size at each character. */
    if (PyUnicode_READ(PyUnicode_KIND(haystack), PyUnicode_DATA(haystack),
                       PyUnicode_GET_LENGTH(haystack)) != 0) {
        PyErr_SetString(PyExc_ValueError, "a string without its terminating NUL");
        return -1;
    }
    switch (PyUnicode_KIND(haystack)) {
    case PyUnicode_1BYTE_KIND:
        return walk_kind(self, terms, haystack, lo, hi, found_list, PyUnicode_1BYTE_KIND);
    case PyUnicode_2BYTE_KIND:
        return walk_kind(self, terms, haystack, lo, hi, found_list, PyUnicode_2BYTE_KIND);
    default:
        return walk_kind(self, terms, haystack, lo, hi, found_list, PyUnicode_4BYTE_KIND);
    }
}

/* Index.scan(haystack, terms, text, offsets, normalize): what the automaton and
 * crawler.matcher._scan_hits give for the same patterns (terms: their _Patterns). */
static PyObject *
Index_scan(Index *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "scan(haystack, terms, text, offsets, normalize)");
        return NULL;
    }
    PyObject *haystack = args[0], *terms = args[1];
    if (check_args(haystack, terms, args[2], args[3]) < 0) {
        return NULL;
    }
    if (PySequence_Fast_GET_SIZE(terms) != self->n_patterns) {
        PyErr_SetString(PyExc_ValueError, "one term per pattern");
        return NULL;
    }
    FoundList found = {NULL, 0, 0, 0};
    Collect out = {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0};
    if (walk(self, terms, haystack, 0, PyUnicode_GET_LENGTH(haystack), &found) < 0) {
        goto fail;
    }
    if (collect_init(&out, args[2], args[3], args[4]) < 0) {
        goto fail;
    }
    for (Py_ssize_t i = 0; i < found.count; i++) {
        Found *hit = &found.items[i];
        PyObject *start = PyLong_FromSsize_t(hit->start), *end = PyLong_FromSsize_t(hit->end);
        int failed = start == NULL || end == NULL ||
                     collect(&out, PySequence_Fast_GET_ITEM(terms, hit->index), start, end, hit->start,
                             hit->end) < 0;
        Py_XDECREF(start);
        Py_XDECREF(end);
        if (failed) {
            goto fail;
        }
    }
    PyMem_Free(found.items);
    return collect_result(&out);
fail:
    PyMem_Free(found.items);
    collect_drop(&out);
    return NULL;
}

/* Index.find(haystack, lo=0, hi=len(haystack)) -> [(pattern index, start, end)]: what an
 * ahocorasick_rs automaton of the same patterns gives for
 * find_matches_as_indexes(haystack, True), less the hits whose first character continues
 * a word before them or whose last one a word after them (ASCII letters and digits), and
 * those that start before lo or end after hi (the boundaries are still checked against
 * the characters beyond): the small automata of crawler.matcher (lead words, text
 * markers, flight words). */
static PyObject *
Index_find(Index *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 3 || !PyUnicode_Check(args[0]) || PyUnicode_READY(args[0]) < 0) {
        PyErr_SetString(PyExc_TypeError, "find(haystack: str, lo: int = 0, hi: int = size)");
        return NULL;
    }
    PyObject *haystack = args[0];
    Py_ssize_t size = PyUnicode_GET_LENGTH(haystack), lo = 0, hi = size;
    if (nargs > 1 && (lo = PyLong_AsSsize_t(args[1])) == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (nargs > 2 && (hi = PyLong_AsSsize_t(args[2])) == -1 && PyErr_Occurred()) {
        return NULL;
    }
    hi = hi < 0 ? 0 : (hi > size ? size : hi); /* clamped, never read past the text */
    lo = lo < 0 ? 0 : (lo > hi ? hi : lo);
    FoundList found = {NULL, 0, 0, 0};
    PyObject *result = NULL;
    if (walk(self, NULL, haystack, lo, hi, &found) < 0 ||
        (result = PyList_New(found.count)) == NULL) {
        PyMem_Free(found.items);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < found.count; i++) {
        Found *hit = &found.items[i];
        PyObject *item = PyTuple_New(3);
        PyObject *index = PyLong_FromSsize_t(hit->index), *start = PyLong_FromSsize_t(hit->start);
        PyObject *end = PyLong_FromSsize_t(hit->end);
        if (item == NULL || index == NULL || start == NULL || end == NULL) {
            Py_XDECREF(item);
            Py_XDECREF(index);
            Py_XDECREF(start);
            Py_XDECREF(end);
            Py_DECREF(result);
            PyMem_Free(found.items);
            return NULL;
        }
        PyTuple_SET_ITEM(item, 0, index); /* steals */
        PyTuple_SET_ITEM(item, 1, start);
        PyTuple_SET_ITEM(item, 2, end);
        PyList_SET_ITEM(result, i, item);
    }
    PyMem_Free(found.items);
    return result;
}

static PyMethodDef Index_methods[] = {
    {"scan", (PyCFunction)(void (*)(void))Index_scan, METH_FASTCALL,
     "scan(haystack, terms, text, offsets, normalize) -> (entity_hits, phrase_hits, "
     "exact_spans, tangled)"},
    {"find", (PyCFunction)(void (*)(void))Index_find, METH_FASTCALL,
     "find(haystack, lo=0, hi=size) -> [(pattern index, start, end)], word boundaries "
     "checked"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject IndexType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "crawler._native.Index",
    .tp_basicsize = sizeof(Index),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Index(patterns): every pattern, found where its boundaries hold.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Index_init,
    .tp_dealloc = (destructor)Index_dealloc,
    .tp_methods = Index_methods,
};

/* ------------------------------------------------------------------------------------ */
/* Folding helpers (crawler.fold): full-width ASCII narrowed, and a set of characters.    */

/* 0 when `text` is a ready str, else -1 with a TypeError naming `usage` (or READY's error). */
static int
ready_str(PyObject *text, const char *usage)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, usage);
        return -1;
    }
    return PyUnicode_READY(text) < 0 ? -1 : 0;
}

static ALWAYS_INLINE Py_UCS4
narrowed(Py_UCS4 c)
{
    if (c >= 0xFF01 && c <= 0xFF5E) {
        return c - 0xFF01 + 0x21;
    }
    return c == 0x3000 ? 0x20 : c;
}

/* A new string of `size` characters of `data`, each narrowed; `most` is the widest result. */
static PyObject *
narrowed_copy(int kind, const void *data, Py_ssize_t size, Py_UCS4 most)
{
    PyObject *result = PyUnicode_New(size, most);
    if (result == NULL) {
        return NULL;
    }
    const int out_kind = PyUnicode_KIND(result);
    void *out = PyUnicode_DATA(result);
    for (Py_ssize_t i = 0; i < size; i++) {
        PyUnicode_WRITE(out_kind, out, i, narrowed(PyUnicode_READ(kind, data, i)));
    }
    return result;
}

/* narrow(text): full-width ASCII (U+FF01-FF5E) and the ideographic space as ASCII, in
 * one pass; the text itself when it has none. NFKC maps them so, one to one. */
static PyObject *
narrow(PyObject *module, PyObject *text)
{
    if (ready_str(text, "narrow(text: str)") < 0) {
        return NULL;
    }
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const Py_ssize_t size = PyUnicode_GET_LENGTH(text);
    if (kind == PyUnicode_1BYTE_KIND) {
        return Py_NewRef(text); /* nothing above U+00FF */
    }
    Py_UCS4 most = 0;
    int changed = 0;
    for (Py_ssize_t i = 0; i < size; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i), n = narrowed(c);
        changed |= n != c;
        most = n > most ? n : most;
    }
    return changed ? narrowed_copy(kind, data, size, most) : Py_NewRef(text);
}

/* Characters that str.casefold() leaves as they are, besides ASCII: the middle dot of
 * Chinese names, general punctuation (" " ' ' ... -), CJK symbols, kana and ideographs,
 * Hangul syllables (tests/crawler/test_native.py checks each against str.casefold). */
static ALWAYS_INLINE int
caseless(Py_UCS4 c)
{
    return c == 0xB7 || (c >= 0x2000 && c < 0x2070) || (c >= 0x3000 && c < 0xA000) ||
           (c >= 0xAC00 && c < 0xD7A4);
}

typedef struct {
    PyObject_HEAD
    uint8_t bits[0x10000 / 8]; /* the set's characters below U+10000 */
    PyObject *astral;          /* a frozenset of the rest */
    uint8_t *fold_class;       /* folded_within's FOLD_ class of each character below U+10000 */
    PyObject *fold_traditional; /* the traditional CharSet that table was made with */
} CharSet;

static void
CharSet_dealloc(CharSet *self)
{
    Py_XDECREF(self->astral);
    Py_XDECREF(self->fold_traditional);
    PyMem_Free(self->fold_class);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
CharSet_init(CharSet *self, PyObject *args, PyObject *kwargs)
{
    PyObject *chars;
    if (!PyArg_ParseTuple(args, "U:CharSet", &chars) || PyUnicode_READY(chars) < 0) {
        return -1;
    }
    PyObject *astral = PySet_New(NULL);
    if (astral == NULL) {
        return -1;
    }
    memset(self->bits, 0, sizeof(self->bits));
    for (Py_ssize_t i = 0; i < PyUnicode_GET_LENGTH(chars); i++) {
        Py_UCS4 c = PyUnicode_READ_CHAR(chars, i);
        if (c < 0x10000) {
            self->bits[c >> 3] |= (uint8_t)(1 << (c & 7));
            continue;
        }
        PyObject *one = PyUnicode_FromOrdinal(c);
        if (one == NULL || PySet_Add(astral, one) < 0) {
            Py_XDECREF(one);
            Py_DECREF(astral);
            return -1;
        }
        Py_DECREF(one);
    }
    Py_XSETREF(self->astral, astral);
    return 0;
}

/* The index of the first character at or after `at` that is in the set (below U+10000)
 * or astral, or `size`. */
static ALWAYS_INLINE Py_ssize_t
charset_scan(const CharSet *self, const void *data, Py_ssize_t at, Py_ssize_t size,
             const int kind)
{
    for (; at < size; at++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, at);
        if (c >= 0x10000 || (self->bits[c >> 3] & (1 << (c & 7)))) {
            return at;
        }
    }
    return size;
}

/* Whether the astral character `c` (U+10000 and up) is in the set: 1, 0, or -1 with an
 * exception set. */
static int
charset_has_astral(const CharSet *self, Py_UCS4 c)
{
    if (self->astral == NULL || PySet_GET_SIZE(self->astral) == 0) {
        return 0;
    }
    PyObject *one = PyUnicode_FromOrdinal(c);
    int found = one == NULL ? -1 : PySet_Contains(self->astral, one);
    Py_XDECREF(one);
    return found;
}

/* CharSet.find(text, start): the index of the first of the set's characters in
 * text[start:], or -1 (what re.search with a character class gives, faster). */
static PyObject *
CharSet_find(CharSet *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyUnicode_Check(args[0]) || !PyLong_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "find(text: str, start: int)");
        return NULL;
    }
    PyObject *text = args[0];
    if (PyUnicode_READY(text) < 0) {
        return NULL;
    }
    Py_ssize_t start = PyLong_AsSsize_t(args[1]);
    if (start == -1 && PyErr_Occurred()) {
        return NULL;
    }
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const Py_ssize_t size = PyUnicode_GET_LENGTH(text);
    Py_ssize_t at = start < 0 ? 0 : start;
    for (;;) {
        switch (kind) { /* the plain loop once per string kind: each read one load */
        case PyUnicode_1BYTE_KIND:
            at = charset_scan(self, data, at, size, PyUnicode_1BYTE_KIND);
            break;
        case PyUnicode_2BYTE_KIND:
            at = charset_scan(self, data, at, size, PyUnicode_2BYTE_KIND);
            break;
        default:
            at = charset_scan(self, data, at, size, PyUnicode_4BYTE_KIND);
        }
        if (at >= size) {
            return PyLong_FromLong(-1);
        }
        Py_UCS4 c = PyUnicode_READ(kind, data, at);
        if (c < 0x10000) {
            return PyLong_FromSsize_t(at); /* in the set */
        }
        int found = charset_has_astral(self, c);
        if (found < 0) {
            return NULL;
        }
        if (found) {
            return PyLong_FromSsize_t(at);
        }
        at++;
    }
}

/* CharSet.rfind(text, lo, hi): the index of the last of the set's characters in
 * text[lo:hi] (clamped to the text), or -1: the start of a stretch that OpenCC converts
 * (crawler.fold, which looked back a character at a time). */
static PyObject *
CharSet_rfind(CharSet *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyUnicode_Check(args[0]) || !PyLong_Check(args[1]) ||
        !PyLong_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "rfind(text: str, lo: int, hi: int)");
        return NULL;
    }
    PyObject *text = args[0];
    if (PyUnicode_READY(text) < 0) {
        return NULL;
    }
    Py_ssize_t lo = PyLong_AsSsize_t(args[1]), hi = PyLong_AsSsize_t(args[2]);
    if ((lo == -1 || hi == -1) && PyErr_Occurred()) {
        return NULL;
    }
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const Py_ssize_t size = PyUnicode_GET_LENGTH(text);
    hi = hi > size ? size : hi;
    lo = lo < 0 ? 0 : lo;
    for (Py_ssize_t i = hi - 1; i >= lo; i--) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c < 0x10000) {
            if (self->bits[c >> 3] & (1 << (c & 7))) {
                return PyLong_FromSsize_t(i);
            }
            continue;
        }
        int found = charset_has_astral(self, c);
        if (found < 0) {
            return NULL;
        }
        if (found) {
            return PyLong_FromSsize_t(i);
        }
    }
    return PyLong_FromLong(-1);
}

/* CharSet.narrowed_within(text): the text with full-width ASCII and U+3000 narrowed (the
 * text itself if it has none) when every character is then ASCII or in the set (below
 * U+10000), else None. With the characters that NFKC leaves alone whatever surrounds them
 * (crawler.fold), that is NFKC in one pass: Chinese text with its ，：（）. */
static PyObject *
CharSet_narrowed_within(CharSet *self, PyObject *text)
{
    if (ready_str(text, "narrowed_within(text: str)") < 0) {
        return NULL;
    }
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const Py_ssize_t size = PyUnicode_GET_LENGTH(text);
    Py_UCS4 most = 0;
    int changed = 0;
    for (Py_ssize_t i = 0; i < size; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i), n = narrowed(c);
        if (n >= 0x80 && (n >= 0x10000 || !(self->bits[n >> 3] & (1 << (n & 7))))) {
            Py_RETURN_NONE;
        }
        changed |= n != c;
        most = n > most ? n : most;
    }
    return changed ? narrowed_copy(kind, data, size, most) : Py_NewRef(text);
}

/* What folded_within does with a character below U+10000 (crawler.fold's NFKC, case-fold
 * and apostrophes for news text), worked out once per set into a table. */
enum {
    FOLD_KEEP,        /* ASCII other than a capital, or a caseless one of the set */
    FOLD_TRADITIONAL, /* kept, and OpenCC changes it */
    FOLD_LOWER,       /* an ASCII capital */
    FOLD_WIDE,        /* full-width ASCII (U+FF01-FF5E), narrowed */
    FOLD_WIDE_LOWER,  /* a full-width capital, narrowed and lowered */
    FOLD_SPACE,       /* U+3000 */
    FOLD_LEFT_QUOTE,  /* ‘ (case-folded text has it straightened) */
    FOLD_RIGHT_QUOTE, /* ’ */
    FOLD_OTHER,       /* NFKC or case-folding could do more: the steps run one by one */
};

/* What each class adds to a character to fold it (narrowed, lowered, straightened);
 * FOLD_OTHER's is never used. A table, not a switch: a character's fold is an add. */
static const int32_t FOLD_DELTA[] = {
    0, 0, 'a' - 'A', 0x21 - 0xFF01, 0x21 - 0xFF01 + ('a' - 'A'), ' ' - 0x3000,
    '\'' - 0x2018, '\'' - 0x2019, 0,
};
/* The characters kept as they are (FOLD_KEEP, FOLD_TRADITIONAL): their bits or'ed together
 * have the widest one's top bit, which is all PyUnicode_New needs of it. */
static const uint32_t FOLD_KEPT[] = {0xFFFFFFFF, 0xFFFFFFFF, 0, 0, 0, 0, 0, 0, 0};
#define FOLD_BIT(class) (1u << (class))

/* The character a class makes of c (FOLD_OTHER: none). */
static ALWAYS_INLINE Py_UCS4
fold_char(uint8_t class, Py_UCS4 c)
{
    return (Py_UCS4)((int32_t)c + FOLD_DELTA[class]);
}

/* The table of fold classes for this set (characters NFKC leaves alone) and `traditional`. */
static const uint8_t *
fold_classes(CharSet *self, PyObject *traditional)
{
    if (self->fold_class != NULL && self->fold_traditional == traditional) {
        return self->fold_class;
    }
    uint8_t *table = PyMem_Malloc(0x10000);
    if (table == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    const uint8_t *old = ((const CharSet *)traditional)->bits;
    for (Py_UCS4 c = 0; c < 0x10000; c++) {
        uint8_t class = FOLD_OTHER;
        if (c < 0x80) {
            class = c >= 'A' && c <= 'Z' ? FOLD_LOWER : FOLD_KEEP;
        }
        else if (c >= 0xFF01 && c <= 0xFF5E) {
            Py_UCS4 n = c - 0xFF01 + 0x21;
            class = n >= 'A' && n <= 'Z' ? FOLD_WIDE_LOWER : FOLD_WIDE;
        }
        else if (c == 0x3000) {
            class = FOLD_SPACE;
        }
        else if ((self->bits[c >> 3] & (1 << (c & 7))) && caseless(c)) {
            class = c == 0x2018                           ? FOLD_LEFT_QUOTE
                    : c == 0x2019                         ? FOLD_RIGHT_QUOTE
                    : (old[c >> 3] & (1 << (c & 7))) != 0 ? FOLD_TRADITIONAL
                                                          : FOLD_KEEP;
        }
        table[c] = class;
    }
    PyMem_Free(self->fold_class);
    self->fold_class = table;
    Py_INCREF(traditional);
    Py_XSETREF(self->fold_traditional, traditional);
    return table;
}

/* A character's class (astral ones: FOLD_OTHER). */
static ALWAYS_INLINE unsigned
fold_class(const uint8_t *classes, Py_UCS4 c, const int kind)
{
    if (kind == PyUnicode_4BYTE_KIND && c >= 0x10000) {
        return FOLD_OTHER;
    }
    return classes[c];
}

/* Two-byte text four characters at a time (SWAR): Latin text with a curly quote or a
 * full-width word is two-byte text of mostly ASCII. Four characters are ASCII when no lane
 * has a bit above 0x7F; a lane x (0..0x7F) is a capital when x + 0x3F reaches 0x80 and
 * x + 0x25 does not (no carry leaves a lane). */
#define ASCII4_HIGH 0xFF80FF80FF80FF80ULL
#define LANES4(byte) (0x0001000100010001ULL * (byte))

static ALWAYS_INLINE uint64_t
capitals4(uint64_t four)
{
    return (four + LANES4(0x80 - 'A')) & ~(four + LANES4(0x80 - 'Z' - 1)) & LANES4(0x80);
}

/* A character's class into `seen`, its bits into `kept` if it is kept as it is. */
static ALWAYS_INLINE void
fold_gather(const uint8_t *classes, Py_UCS4 c, const int kind, unsigned *seen, uint32_t *kept)
{
    unsigned class = fold_class(classes, c, kind);
    *seen |= FOLD_BIT(class);
    *kept |= c & FOLD_KEPT[class];
}

static ALWAYS_INLINE PyObject *
folded_within_kind(const uint8_t *classes, PyObject *text, const int kind)
{
    const void *data = PyUnicode_DATA(text);
    const Py_ssize_t size = PyUnicode_GET_LENGTH(text);
    /* One pass that only gathers, with no branch a character: the classes seen, and the
     * kept characters' bits (the widest one's top bit). A text with a FOLD_OTHER character
     * is told so at its end: such text is rare in news. */
    unsigned seen = 0;
    uint32_t kept = 0;
    Py_ssize_t i = 0;
    if (kind == PyUnicode_2BYTE_KIND) { /* ASCII four at a time: FOLD_KEEP or FOLD_LOWER */
        const Py_UCS2 *chars = data;
        uint64_t capitals = 0;
        for (; i + 4 <= size; i += 4) {
            uint64_t four;
            memcpy(&four, chars + i, sizeof(four));
            if (four & ASCII4_HIGH) {
                for (int k = 0; k < 4; k++) {
                    fold_gather(classes, chars[i + k], kind, &seen, &kept);
                }
                continue;
            }
            seen |= FOLD_BIT(FOLD_KEEP); /* kept's bits below 0x80 change nothing it says */
            capitals |= capitals4(four);
        }
        if (capitals) {
            seen |= FOLD_BIT(FOLD_LOWER);
        }
    }
    for (; i < size; i++) {
        fold_gather(classes, PyUnicode_READ(kind, data, i), kind, &seen, &kept);
    }
    if (seen & FOLD_BIT(FOLD_OTHER)) {
        Py_RETURN_NONE;
    }
    Py_ssize_t first = -1; /* the first traditional character */
    if (seen & FOLD_BIT(FOLD_TRADITIONAL)) {
        for (first = 0; classes[PyUnicode_READ(kind, data, first)] != FOLD_TRADITIONAL; first++) {
        }
    }
    /* is a character not ASCII once folded? (’ is not ASCII, ' is) */
    int wide = kept >= 0x80 || (seen & (FOLD_BIT(FOLD_LEFT_QUOTE) | FOLD_BIT(FOLD_RIGHT_QUOTE)));
    Py_UCS4 most = kept < 0x80 ? 0x7F : kept; /* the other classes' characters are ASCII */
    int changed = (seen & ~(FOLD_BIT(FOLD_KEEP) | FOLD_BIT(FOLD_TRADITIONAL))) != 0;
    PyObject *result;
    if (!wide) { /* ASCII once folded: a byte loop */
        result = PyUnicode_New(size, 0x7F);
        if (result == NULL) {
            return NULL;
        }
        Py_UCS1 *out = PyUnicode_1BYTE_DATA(result);
        Py_ssize_t i = 0;
#if PY_LITTLE_ENDIAN
        if (kind == PyUnicode_2BYTE_KIND) { /* ASCII four at a time: lowered, lanes packed */
            const Py_UCS2 *chars = data;
            for (; i + 4 <= size; i += 4) {
                uint64_t four;
                memcpy(&four, chars + i, sizeof(four));
                if (four & ASCII4_HIGH) {
                    for (int k = 0; k < 4; k++) {
                        out[i + k] = (Py_UCS1)fold_char(classes[chars[i + k]], chars[i + k]);
                    }
                    continue;
                }
                four |= capitals4(four) >> 2; /* 0x80 >> 2: 'a' - 'A' */
                four = (four | (four >> 8)) & 0x0000FFFF0000FFFFULL;
                uint32_t bytes = (uint32_t)(four | (four >> 16));
                memcpy(out + i, &bytes, sizeof(bytes));
            }
        }
#endif
        for (; i < size; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            out[i] = (Py_UCS1)fold_char(classes[c], c);
        }
    }
    else if (changed) { /* each character again, into a string of the right width */
        result = PyUnicode_New(size, most);
        if (result == NULL) {
            return NULL;
        }
        if (PyUnicode_KIND(result) == PyUnicode_1BYTE_KIND) {
            Py_UCS1 *out = PyUnicode_1BYTE_DATA(result);
            for (Py_ssize_t i = 0; i < size; i++) {
                Py_UCS4 c = PyUnicode_READ(kind, data, i);
                out[i] = (Py_UCS1)fold_char(classes[c], c);
            }
        }
        else { /* most < 0x10000: the widest is two bytes */
            Py_UCS2 *out = PyUnicode_2BYTE_DATA(result);
            for (Py_ssize_t i = 0; i < size; i++) {
                Py_UCS4 c = PyUnicode_READ(kind, data, i);
                out[i] = (Py_UCS2)fold_char(classes[c], c);
            }
        }
    }
    else {
        result = Py_NewRef(text);
    }
    PyObject *index = PyLong_FromSsize_t(first), *triple = PyTuple_New(3);
    if (index == NULL || triple == NULL) {
        Py_DECREF(result);
        Py_XDECREF(index);
        Py_XDECREF(triple);
        return NULL;
    }
    PyTuple_SET_ITEM(triple, 0, result);
    PyTuple_SET_ITEM(triple, 1, index);
    PyTuple_SET_ITEM(triple, 2, Py_NewRef(wide ? Py_False : Py_True));
    return triple;
}

/* CharSet.folded_within(text, traditional) -> (folded, first, ascii) or None. For text of
 * ASCII, full-width ASCII and characters of this set (those NFKC leaves alone, crawler.fold)
 * that have no case: crawler.fold's case_fold(nfkc(text)) in one pass (narrowed, ASCII
 * lowered, ‘ ’ straightened), the index of its first character in `traditional` (a
 * CharSet, its characters below U+10000: OpenCC's are ideographs; -1 if none), where
 * OpenCC starts, and whether the text narrowed is all ASCII (then it is the case-kept text
 * the Python acronym search reads: crawler.fold.Folded.cased, made when asked for). Else
 * None: then the steps run one by one. News text in one pass instead of four. */
static PyObject *
CharSet_folded_within(CharSet *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyUnicode_Check(args[0]) || !PyObject_TypeCheck(args[1], Py_TYPE(self))) {
        PyErr_SetString(PyExc_TypeError, "folded_within(text: str, traditional: CharSet)");
        return NULL;
    }
    PyObject *text = args[0];
    if (PyUnicode_READY(text) < 0) {
        return NULL;
    }
    const uint8_t *classes = fold_classes(self, args[1]);
    if (classes == NULL) {
        return NULL;
    }
    switch (PyUnicode_KIND(text)) {
    case PyUnicode_1BYTE_KIND:
        return folded_within_kind(classes, text, PyUnicode_1BYTE_KIND);
    case PyUnicode_2BYTE_KIND:
        return folded_within_kind(classes, text, PyUnicode_2BYTE_KIND);
    default:
        return folded_within_kind(classes, text, PyUnicode_4BYTE_KIND);
    }
}

static PyMethodDef CharSet_methods[] = {
    {"folded_within", (PyCFunction)(void (*)(void))CharSet_folded_within, METH_FASTCALL,
     "folded_within(text, traditional) -> (NFKC, case-folded text, index of its first "
     "traditional character or -1, is the narrowed text ASCII) if all is ASCII or in the "
     "set, else None"},
    {"narrowed_within", (PyCFunction)CharSet_narrowed_within, METH_O,
     "narrowed_within(text) -> text with full-width ASCII narrowed if all is then ASCII or "
     "in the set, else None"},
    {"rfind", (PyCFunction)(void (*)(void))CharSet_rfind, METH_FASTCALL,
     "rfind(text, lo, hi) -> the index of the last character of the set in text[lo:hi], or -1"},
    {"find", (PyCFunction)(void (*)(void))CharSet_find, METH_FASTCALL,
     "find(text, start) -> the index of the first character of the set at or after start, or -1"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject CharSetType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "crawler._native.CharSet",
    .tp_basicsize = sizeof(CharSet),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "CharSet(chars): a set of characters, searched for in a text.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)CharSet_init,
    .tp_dealloc = (destructor)CharSet_dealloc,
    .tp_methods = CharSet_methods,
};

/* ------------------------------------------------------------------------------------ */
/* Overlapping hits: crawler.matcher._resolve_overlaps (the reference) in C.             */

typedef struct {
    Py_ssize_t start, end, order; /* order: the place in the (start, end, key) order */
    PyObject *hit, *key;          /* borrowed from the list */
} Span;

static int
compare_spans(const void *a, const void *b) /* (start, end, key): the tuples' order */
{
    const Span *x = a, *y = b;
    if (x->start != y->start) {
        return x->start < y->start ? -1 : 1;
    }
    if (x->end != y->end) {
        return x->end < y->end ? -1 : 1;
    }
    return PyUnicode_Compare(x->key, y->key); /* str and str: cannot fail */
}

static int
compare_longest(const void *a, const void *b) /* the longest first, then by start, as sorted */
{
    const Span *x = a, *y = b;
    Py_ssize_t lx = x->end - x->start, ly = y->end - y->start;
    if (lx != ly) {
        return lx > ly ? -1 : 1;
    }
    if (x->start != y->start) {
        return x->start < y->start ? -1 : 1;
    }
    return (x->order > y->order) - (x->order < y->order);
}

static int
compare_order(const void *a, const void *b)
{
    const Span *x = a, *y = b;
    return (x->order > y->order) - (x->order < y->order);
}

/* One cluster of overlapping hits (sorted, at least two): the survivors, appended. */
static int
resolve_cluster(Span *cluster, Py_ssize_t n, Span *kept, PyObject *exact, PyObject *inner,
                PyObject *outer, PyObject *result)
{
    qsort(cluster, n, sizeof(Span), compare_longest);
    Py_ssize_t n_kept = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Span *hit = &cluster[i];
        if (PyDict_GET_SIZE(exact) > 0) {
            PyObject *span = PyTuple_Pack(2, PyTuple_GET_ITEM(hit->hit, 0),
                                          PyTuple_GET_ITEM(hit->hit, 1));
            if (span == NULL) {
                return -1;
            }
            PyObject *keys = PyDict_GetItemWithError(exact, span); /* borrowed */
            Py_DECREF(span);
            if (keys == NULL && PyErr_Occurred()) {
                return -1;
            }
            if (keys != NULL) {
                int has = PySequence_Contains(keys, hit->key);
                if (has < 0) {
                    return -1;
                }
                if (!has) {
                    continue; /* an exact form matched this span, and not this key's */
                }
            }
        }
        int inner_key = -1, keep = 1;
        for (Py_ssize_t k = 0; k < n_kept; k++) {
            Span *other = &kept[k];
            if (hit->start == other->start && hit->end == other->end) {
                if (PyUnicode_Compare(hit->key, other->key) == 0) {
                    keep = 0; /* an acronym that is also its entity's alias */
                    break;
                }
            }
            else if (other->start <= hit->start && hit->end <= other->end) {
                if (inner_key < 0 && (inner_key = PySet_Contains(inner, hit->key)) < 0) {
                    return -1;
                }
                int survives = 0;
                if (inner_key && (survives = PySet_Contains(outer, other->key)) < 0) {
                    return -1;
                }
                if (!survives) {
                    keep = 0; /* inside a longer kept hit */
                    break;
                }
            }
        }
        if (keep) {
            kept[n_kept++] = *hit;
        }
    }
    qsort(kept, n_kept, sizeof(Span), compare_order);
    for (Py_ssize_t k = 0; k < n_kept; k++) {
        if (PyList_Append(result, kept[k].hit) < 0) {
            return -1;
        }
    }
    return 0;
}

/* resolve_overlaps(hits, exact, inner, outer): crawler.matcher._resolve_overlaps(hits,
 * exact, _Nesting(inner, outer)) for hits [(start, end, key)], exact {(start, end): keys},
 * inner and outer frozensets; a new list (hits is left as it is). */
static PyObject *
resolve_overlaps(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyList_Check(args[0]) || !PyDict_Check(args[1]) ||
        !PyAnySet_Check(args[2]) || !PyAnySet_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "resolve_overlaps(list, dict, set, set)");
        return NULL;
    }
    PyObject *hits = args[0], *exact = args[1], *inner = args[2], *outer = args[3];
    Py_ssize_t n = PyList_GET_SIZE(hits);
    Span *spans = PyMem_Malloc((n ? n : 1) * 2 * sizeof(Span)); /* the hits, then kept ones */
    PyObject *result = PyList_New(0);
    if (spans == NULL || result == NULL) {
        PyMem_Free(spans);
        Py_XDECREF(result);
        return PyErr_NoMemory();
    }
    Span *kept = spans + (n ? n : 1);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *hit = PyList_GET_ITEM(hits, i);
        if (!PyTuple_Check(hit) || PyTuple_GET_SIZE(hit) != 3 ||
            !PyLong_Check(PyTuple_GET_ITEM(hit, 0)) || !PyLong_Check(PyTuple_GET_ITEM(hit, 1)) ||
            !PyUnicode_Check(PyTuple_GET_ITEM(hit, 2))) {
            PyErr_SetString(PyExc_TypeError, "a hit is (start: int, end: int, key: str)");
            goto fail;
        }
        Py_ssize_t start = PyLong_AsSsize_t(PyTuple_GET_ITEM(hit, 0));
        Py_ssize_t end = PyLong_AsSsize_t(PyTuple_GET_ITEM(hit, 1));
        if ((start == -1 || end == -1) && PyErr_Occurred()) {
            goto fail;
        }
        spans[i] = (Span){start, end, 0, hit, PyTuple_GET_ITEM(hit, 2)};
    }
    qsort(spans, n, sizeof(Span), compare_spans);
    for (Py_ssize_t i = 0; i < n; i++) {
        spans[i].order = i;
    }
    Py_ssize_t first = 0, cluster_end = -1;
    for (Py_ssize_t i = 0; i <= n; i++) {
        if (i < n && spans[i].start < cluster_end) { /* overlaps the cluster */
            if (spans[i].end > cluster_end) {
                cluster_end = spans[i].end;
            }
            continue;
        }
        if (i - first == 1) {
            if (PyList_Append(result, spans[first].hit) < 0) {
                goto fail;
            }
        }
        else if (i - first > 1 &&
                 resolve_cluster(spans + first, i - first, kept, exact, inner, outer, result) < 0) {
            goto fail;
        }
        if (i < n) {
            first = i;
            cluster_end = spans[i].end;
        }
    }
    PyMem_Free(spans);
    return result;
fail:
    PyMem_Free(spans);
    Py_DECREF(result);
    return NULL;
}

/* casefold(text) -> text.casefold() when every character is ASCII or caseless (ASCII
 * letters lowered: the text itself when it has no capital), else None: most Chinese news
 * after NFKC, which str.casefold() goes through a character at a time. */
static PyObject *
casefold(PyObject *module, PyObject *text)
{
    if (ready_str(text, "casefold(text: str)") < 0) {
        return NULL;
    }
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const Py_ssize_t size = PyUnicode_GET_LENGTH(text);
    Py_ssize_t first_capital = -1;
    for (Py_ssize_t i = 0; i < size; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c < 0x80) {
            if (first_capital < 0 && c >= 'A' && c <= 'Z') {
                first_capital = i;
            }
        }
        else if (!caseless(c)) {
            Py_RETURN_NONE;
        }
    }
    if (first_capital < 0) {
        return Py_NewRef(text);
    }
    PyObject *result = PyUnicode_New(size, PyUnicode_MAX_CHAR_VALUE(text));
    if (result == NULL) {
        return NULL;
    }
    void *out = PyUnicode_DATA(result);
    memcpy(out, data, (size_t)size * kind);
    for (Py_ssize_t i = first_capital; i < size; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, out, i);
        if (c >= 'A' && c <= 'Z') {
            PyUnicode_WRITE(kind, out, i, c + ('a' - 'A'));
        }
    }
    return result;
}

/* ------------------------------------------------------------------------------------ */
/* Result objects (crawler.matcher's Hit, Snippet, MatchResult: frozen dataclasses).      */

/* fill(cls, names, *values) -> object.__new__(cls) with object.__setattr__(it, name,
 * value) for each name and value: what a frozen dataclass's __init__ does (without
 * __post_init__), without a Python call per field. The values go into the instance's
 * own slots for attributes (no dict is made, as `it.__dict__.update(...)` makes one); an
 * object of strings and numbers alone is left untracked by the garbage collector. */
static PyObject *
fill(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 2 || !PyType_Check(args[0]) || !PyTuple_CheckExact(args[1]) ||
        PyTuple_GET_SIZE(args[1]) != nargs - 2) {
        PyErr_SetString(PyExc_TypeError, "fill(cls, names: tuple, *values): a value per name");
        return NULL;
    }
    PyObject *empty = PyTuple_New(0);
    if (empty == NULL) {
        return NULL;
    }
    PyObject *made = PyBaseObject_Type.tp_new((PyTypeObject *)args[0], empty, NULL);
    Py_DECREF(empty);
    if (made == NULL) {
        return NULL;
    }
    int atomic = 1; /* are all values objects that hold no others? */
    for (Py_ssize_t i = 2; i < nargs; i++) {
        if (PyObject_GenericSetAttr(made, PyTuple_GET_ITEM(args[1], i - 2), args[i]) < 0) {
            Py_DECREF(made);
            return NULL;
        }
        PyObject *value = args[i];
        atomic &= PyUnicode_CheckExact(value) || PyLong_CheckExact(value) ||
                  PyFloat_CheckExact(value) || PyBool_Check(value) || value == Py_None;
    }
    /* An object holding strings and numbers alone is in no reference cycle (the fields are
     * frozen): the collector need not walk it, as it stops walking such tuples and dicts.
     * A Hit or a Snippet: most of what a kept result holds. */
    if (atomic && PyObject_GC_IsTracked(made)) {
        PyObject_GC_UnTrack(made);
    }
    return made;
}

static PyMethodDef methods[] = {
    {"casefold", (PyCFunction)casefold, METH_O,
     "casefold(text) -> text.casefold() if only ASCII and caseless characters, else None"},
    {"fill", (PyCFunction)(void (*)(void))fill, METH_FASTCALL,
     "fill(cls, names, *values) -> object.__new__(cls) with each name set to its value"},
    {"narrow", (PyCFunction)narrow, METH_O,
     "narrow(text) -> text with full-width ASCII and U+3000 as ASCII (itself if none)"},
    {"resolve_overlaps", (PyCFunction)(void (*)(void))resolve_overlaps, METH_FASTCALL,
     "resolve_overlaps(hits, exact, inner, outer) -> the hits that survive (a new list)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT, "crawler._native",
    "The filter's scan in C (crawler.matcher's automaton and _scan_hits are the reference).",
    -1, methods,
};

PyMODINIT_FUNC
PyInit__native(void)
{
    if (PyType_Ready(&IndexType) < 0 || PyType_Ready(&CharSetType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&native_module);
    if (module == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(module, "Index", (PyObject *)&IndexType) < 0 ||
        PyModule_AddObjectRef(module, "CharSet", (PyObject *)&CharSetType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
#ifdef CRACKDOWN_NATIVE_SOURCE
    if (PyModule_AddStringConstant(module, "SOURCE_SHA256", CRACKDOWN_NATIVE_SOURCE) < 0) {
        Py_DECREF(module);
        return NULL;
    }
#endif
    return module;
}
