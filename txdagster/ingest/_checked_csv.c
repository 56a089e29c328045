/* CSV records read and checked in one pass (columnar/checked_csv.py wraps it and documents its rules).
 *
 * Each cell is cut out of its record and checked at once with its field's rule, while its bytes are in
 * the cache: text by a byte lookup, an enum's hash or the free-text scan (valid UTF-8, no forbidden
 * code point, length in characters), an amount straight into a decimal, a timestamp of the canonical
 * form into microseconds, an integer into int64. The columns come out in their lake types.
 *
 * It takes a block only when every record is whole and every cell passes: any other case (a failed
 * rule, a form it does not read, a quoted line break) makes it answer None, and the block takes the
 * road of reading every cell as text and checking the columns after, which says what is wrong.
 */
#include "_native.h"
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define RULES_CAPSULE "txdagster.ingest._native.csv_rules"
#define MAX_CELLS 64
#define MAX_RANGES 8
#define ENUM_SLOTS 1024 /* power of two, well above the largest enum (ISO 4217: about 180) */
#define CHECKED_SLOTS 4096 /* pool slots of this reader's buffers (the other readers' stay below) */

typedef struct {
    char kind; /* 't' text, 'd' decimal, 'T' timestamp (micros), 'n' integer, 'a' always blank */
    int required;
    int has_default; /* a blank cell takes the default instead of null */
    char *fill;      /* text's default */
    size_t fill_len;
    int64_t fill_value; /* a timestamp's or an integer's default */
    /* text */
    int byte_rule; /* first byte in ``first``, the others in ``rest``, length in [shortest, longest] */
    unsigned char first[256], rest[256];
    int64_t shortest, longest;
    int free;                      /* free text: valid UTF-8, no forbidden code point */
    int64_t min_chars, max_chars;  /* -1: no bound */
    int enums;                     /* how many values, 0: not an enum */
    char **enum_text;
    size_t *enum_len;
    int16_t slots[ENUM_SLOTS]; /* enum value + 1 by hash, 0: none */
    /* decimal */
    int scale, digits;
    /* timestamp, integer: inclusive bounds */
    int64_t low, high;
} Rule;

typedef struct {
    int count;
    Rule rules[MAX_CELLS];
    int nranges;
    uint32_t ranges[MAX_RANGES][2]; /* forbidden code points, inclusive */
    unsigned char ascii_forbidden[128];
} Rules;

typedef struct {
    Buf valid, values, data; /* values: int32 offsets (text), int128, int64 */
    int64_t nulls;
} Out;

/* ---- rules, built once from Python ---- */

static void free_rules(Rules *rules) {
    for (int i = 0; i < rules->count; i++) {
        Rule *rule = &rules->rules[i];
        free(rule->fill);
        for (int e = 0; e < rule->enums; e++)
            free(rule->enum_text[e]);
        free(rule->enum_text);
        free(rule->enum_len);
    }
    free(rules);
}

static void release_rules(PyObject *capsule) { free_rules(PyCapsule_GetPointer(capsule, RULES_CAPSULE)); }

static inline uint32_t text_hash(const char *p, size_t n) { /* FNV-1a */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 16777619u;
    return h;
}

static char *copy_bytes(PyObject *bytes, size_t *len) {
    char *src;
    Py_ssize_t n;
    if (PyBytes_AsStringAndSize(bytes, &src, &n))
        return NULL;
    char *copy = malloc((size_t)n + 1);
    if (!copy) {
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(copy, src, (size_t)n);
    *len = (size_t)n;
    return copy;
}

static int set_bytes(unsigned char table[256], PyObject *allowed) {
    char *p;
    Py_ssize_t n;
    if (PyBytes_AsStringAndSize(allowed, &p, &n))
        return -1;
    for (Py_ssize_t i = 0; i < n; i++)
        table[(unsigned char)p[i]] = 1;
    return 0;
}

static int text_rule(Rule *rule, PyObject *spec) {
    PyObject *fill, *first, *rest, *enums;
    long long shortest, longest, min_chars, max_chars;
    int free_text;
    if (!PyArg_ParseTuple(spec, "CpOOOLLpLLO", &(int){0}, &rule->required, &fill, &first, &rest, &shortest, &longest,
                          &free_text, &min_chars, &max_chars, &enums))
        return -1;
    rule->free = free_text;
    rule->shortest = shortest;
    rule->longest = longest;
    rule->min_chars = min_chars;
    rule->max_chars = max_chars;
    if (fill != Py_None) {
        rule->has_default = 1;
        if (!(rule->fill = copy_bytes(fill, &rule->fill_len)))
            return -1;
    }
    if (first != Py_None) {
        rule->byte_rule = 1;
        if (set_bytes(rule->first, first) || set_bytes(rule->rest, rest))
            return -1;
    }
    if (enums == Py_None)
        return 0;
    if (!PyTuple_Check(enums) || PyTuple_GET_SIZE(enums) >= ENUM_SLOTS / 2) {
        PyErr_SetString(PyExc_ValueError, "an enum is a tuple of fewer than 512 values");
        return -1;
    }
    int count = (int)PyTuple_GET_SIZE(enums);
    rule->enum_text = calloc((size_t)count + 1, sizeof(char *));
    rule->enum_len = calloc((size_t)count + 1, sizeof(size_t));
    if (!rule->enum_text || !rule->enum_len) {
        PyErr_NoMemory();
        return -1;
    }
    for (int e = 0; e < count; e++) {
        if (!(rule->enum_text[e] = copy_bytes(PyTuple_GET_ITEM(enums, e), &rule->enum_len[e])))
            return -1;
        rule->enums = e + 1;
        uint32_t h = text_hash(rule->enum_text[e], rule->enum_len[e]) & (ENUM_SLOTS - 1);
        while (rule->slots[h])
            h = (h + 1) & (ENUM_SLOTS - 1);
        rule->slots[h] = (int16_t)(e + 1);
    }
    return 0;
}

static int cell_rule(Rule *rule, PyObject *spec) {
    if (!PyTuple_Check(spec) || PyTuple_GET_SIZE(spec) < 1) {
        PyErr_SetString(PyExc_ValueError, "a rule is a tuple starting with its kind");
        return -1;
    }
    const char *kind = PyUnicode_AsUTF8(PyTuple_GET_ITEM(spec, 0));
    if (!kind)
        return -1;
    rule->kind = kind[0];
    switch (rule->kind) {
    case 't':
        return text_rule(rule, spec);
    case 'd':
        if (!PyArg_ParseTuple(spec, "Cpii", &(int){0}, &rule->required, &rule->scale, &rule->digits))
            return -1;
        if (rule->scale < 0 || rule->scale > 18 || rule->digits < 1 || rule->digits > 18) {
            PyErr_SetString(PyExc_ValueError, "a decimal's scale and digits are within 0-18 and 1-18");
            return -1;
        }
        return 0;
    case 'T':
    case 'n': {
        PyObject *fill;
        long long low, high;
        if (!PyArg_ParseTuple(spec, "CpOLL", &(int){0}, &rule->required, &fill, &low, &high))
            return -1;
        rule->low = low;
        rule->high = high;
        if (fill != Py_None) {
            rule->has_default = 1;
            rule->fill_value = PyLong_AsLongLong(fill);
            if (PyErr_Occurred())
                return -1;
        }
        return 0;
    }
    case 'a':
        return 0;
    }
    PyErr_SetString(PyExc_ValueError, "a rule's kind is 't', 'd', 'T', 'n' or 'a'");
    return -1;
}

/* csv_rules(rules, forbidden) -> a capsule for read_checked_csv: a rule per header column, and the
 * forbidden code points' inclusive ranges. */
PyObject *py_csv_rules(PyObject *self, PyObject *args) {
    PyObject *specs, *forbidden;
    if (!PyArg_ParseTuple(args, "O!O!", &PyTuple_Type, &specs, &PyTuple_Type, &forbidden))
        return NULL;
    if (PyTuple_GET_SIZE(specs) < 1 || PyTuple_GET_SIZE(specs) > MAX_CELLS ||
        PyTuple_GET_SIZE(forbidden) > MAX_RANGES) {
        PyErr_SetString(PyExc_ValueError, "1 to 64 rules and at most 8 forbidden ranges");
        return NULL;
    }
    Rules *rules = calloc(1, sizeof(Rules));
    if (!rules)
        return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(forbidden); i++) {
        unsigned int low, high;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(forbidden, i), "II", &low, &high)) {
            free_rules(rules);
            return NULL;
        }
        rules->ranges[i][0] = low;
        rules->ranges[i][1] = high;
        for (unsigned int c = low; c <= high && c < 128; c++)
            rules->ascii_forbidden[c] = 1;
        rules->nranges = (int)i + 1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(specs); i++) {
        rules->count = (int)i + 1;
        if (cell_rule(&rules->rules[i], PyTuple_GET_ITEM(specs, i))) {
            free_rules(rules);
            return NULL;
        }
    }
    PyObject *capsule = PyCapsule_New(rules, RULES_CAPSULE, release_rules);
    if (!capsule)
        free_rules(rules);
    return capsule;
}

/* ---- a cell ---- */

static inline int room(Buf *b, size_t n) { return b->len + n <= b->cap ? 0 : buf_reserve(b, n); }

static inline int append(Buf *b, const void *src, size_t n) {
    if (room(b, n))
        return -1;
    memcpy(b->data + b->len, src, n);
    b->len += n;
    return 0;
}

static inline int same_bytes(const char *a, const char *b, size_t n) { /* a few bytes: no call to memcmp */
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* The cell at *at: its bytes (in the block, or unquoted into scratch) and *at moved past it.
 * -1: a quote it does not read, a line break or carriage return inside quotes. */
static inline int cut_cell(const char **at, const char *end, Buf *scratch, const char **text, size_t *len) {
    const char *p = *at;
    if (p < end && *p == '"') {
        scratch->len = 0;
        p++;
        for (;;) {
            const char *run = p;
            while (p < end && *p != '"' && *p != '\n' && *p != '\r')
                p++;
            if (p >= end || *p != '"')
                return -1; /* never closed, or a line break inside: the text road reads it */
            if (append(scratch, run, (size_t)(p - run)))
                return -1;
            if (end - p >= 2 && p[1] == '"') {
                if (append(scratch, "\"", 1))
                    return -1;
                p += 2;
                continue;
            }
            p++;
            if (p < end && *p != ',' && *p != '\n' && *p != '\r')
                return -1; /* text after the closing quote */
            break;
        }
        *text = scratch->data;
        *len = scratch->len;
        *at = p;
        return 0;
    }
    const char *start = p;
#ifdef __SSE2__
    const __m128i comma = _mm_set1_epi8(','), newline = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r'),
                  quote = _mm_set1_epi8('"');
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, newline)),
                                   _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, quote)));
        int mask = _mm_movemask_epi8(hit);
        if (mask) {
            p += __builtin_ctz((unsigned)mask);
            goto found;
        }
        p += 16;
    }
#endif
    while (p < end && *p != ',' && *p != '\n' && *p != '\r' && *p != '"')
        p++;
#ifdef __SSE2__
found:
#endif
    if (p < end && *p == '"')
        return -1; /* a quote inside an unquoted cell */
    *text = start;
    *len = (size_t)(p - start);
    *at = p;
    return 0;
}

static inline int forbidden(const Rules *rules, uint32_t cp) {
    for (int i = 0; i < rules->nranges; i++)
        if (cp >= rules->ranges[i][0] && cp <= rules->ranges[i][1])
            return 1;
    return 0;
}

/* Free text: valid UTF-8 without a forbidden code point; its length in characters, or -1. */
static inline int64_t free_text_chars(const Rules *rules, const unsigned char *p, size_t n) {
    const unsigned char *end = p + n;
    int64_t chars = 0;
    while (p < end) {
        unsigned char c = *p;
        if (c < 0x80) {
            if (rules->ascii_forbidden[c])
                return -1;
            p++;
            chars++;
            continue;
        }
        int k = utf8_sequence(p, end);
        if (!k)
            return -1;
        uint32_t cp = k == 2   ? (uint32_t)(c & 0x1F) << 6 | (p[1] & 0x3F)
                      : k == 3 ? (uint32_t)(c & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F)
                               : (uint32_t)(c & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 |
                                     (uint32_t)(p[2] & 0x3F) << 6 | (p[3] & 0x3F);
        if (forbidden(rules, cp))
            return -1;
        p += k;
        chars++;
    }
    return chars;
}

static inline int text_passes(const Rules *rules, const Rule *rule, const char *text, size_t n) {
    const unsigned char *p = (const unsigned char *)text;
    int64_t chars = (int64_t)n;
    if (rule->byte_rule) {
        if ((int64_t)n < rule->shortest || (int64_t)n > rule->longest || !rule->first[p[0]])
            return 0;
        for (size_t i = 1; i < n; i++)
            if (!rule->rest[p[i]])
                return 0;
    }
    if (rule->enums) {
        uint32_t h = text_hash(text, n) & (ENUM_SLOTS - 1);
        for (;;) {
            int e = rule->slots[h] - 1;
            if (e < 0)
                return 0;
            if (rule->enum_len[e] == n && same_bytes(rule->enum_text[e], text, n))
                break;
            h = (h + 1) & (ENUM_SLOTS - 1);
        }
    }
    if (rule->free) {
        chars = free_text_chars(rules, p, n);
        if (chars < 0)
            return 0;
    } else if (rule->min_chars >= 0 || rule->max_chars >= 0) { /* valid UTF-8 here: an enum's value or ASCII */
        chars = 0;
        for (size_t i = 0; i < n; i++)
            chars += (p[i] & 0xC0) != 0x80;
    }
    return (rule->min_chars < 0 || chars >= rule->min_chars) && (rule->max_chars < 0 || chars <= rule->max_chars);
}

static inline int digits_at(const char *p, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

static inline int64_t days_from_civil(int64_t y, unsigned m, unsigned d) { /* proleptic Gregorian */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* YYYY-MM-DDTHH:MM:SS(.f{1,6})?Z, a real date and time of years 1900-9999, as microseconds. */
static inline int timestamp_value(const char *p, size_t n, int64_t *out) {
    static const int month_days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int year, month, day, hour, minute, second;
    if (n < 20 || n > 27 || n == 21 || p[n - 1] != 'Z' || p[4] != '-' || p[7] != '-' || p[10] != 'T' ||
        p[13] != ':' || p[16] != ':' || digits_at(p, 4, &year) || digits_at(p + 5, 2, &month) ||
        digits_at(p + 8, 2, &day) || digits_at(p + 11, 2, &hour) || digits_at(p + 14, 2, &minute) ||
        digits_at(p + 17, 2, &second))
        return -1;
    if (year < 1900 || month < 1 || month > 12 || day < 1 || day > month_days[month - 1] || hour > 23 ||
        minute > 59 || second > 59)
        return -1;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (month == 2 && day == 29 && !leap)
        return -1;
    int micros = 0;
    if (n > 20) {
        if (p[19] != '.' || digits_at(p + 20, (int)n - 21, &micros))
            return -1;
        for (size_t d = n - 21; d < 6; d++)
            micros *= 10;
    }
    int64_t days = days_from_civil(year, (unsigned)month, (unsigned)day);
    *out = ((days * 86400 + hour * 3600 + minute * 60 + second) * 1000000) + micros;
    return 0;
}

/* 1 to 18 digits without a leading zero. */
static inline int integer_value(const char *p, size_t n, int64_t *out) {
    if (n < 1 || n > 18 || (n > 1 && p[0] == '0'))
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

/* The cell's value, checked, into its column. -1: blank where not allowed, or a rule failed. */
static inline int put_cell(const Rules *rules, const Rule *rule, Out *out, int64_t row, const char *text, size_t n) {
    int blank = n == 0;
    if (rule->kind == 'a')
        return blank ? 0 : -1;
    if (blank && rule->required && !rule->has_default)
        return -1;
    int present = !blank || rule->has_default;
    if ((row & 7) == 0) {
        if (room(&out->valid, 1))
            return -1;
        out->valid.data[out->valid.len++] = 0;
    }
    if (present)
        out->valid.data[row >> 3] |= (char)(1 << (row & 7));
    else
        out->nulls++;
    switch (rule->kind) {
    case 't': {
        if (blank && present) { /* the default, checked once by the caller */
            text = rule->fill;
            n = rule->fill_len;
        } else if (present && !text_passes(rules, rule, text, n))
            return -1;
        int32_t offset = (int32_t)(out->data.len + n);
        return append(&out->data, text, n) || append(&out->values, &offset, 4) ? -1 : 0;
    }
    case 'd': {
        __int128 value = 0;
        if (!blank && decimal_text(text, n, rule->scale, rule->digits, &value))
            return -1;
        return append(&out->values, &value, 16);
    }
    default: { /* 'T', 'n' */
        int64_t value = 0;
        if (blank)
            value = rule->fill_value; /* the default, or 0 under a null */
        else if (rule->kind == 'T' ? timestamp_value(text, n, &value) : integer_value(text, n, &value))
            return -1;
        if (present && (value < rule->low || value > rule->high))
            return -1;
        return append(&out->values, &value, 8);
    }
    }
}

/* Every record of exactly the rules' cells, each passing its rule; ends at \n, \r\n or the block's end. */
static int read_records(const Rules *rules, Out *outs, Buf *scratch, const char *p, const char *end, int64_t *rows) {
    int64_t row = 0;
    int32_t zero = 0;
    for (int c = 0; c < rules->count; c++)
        if (rules->rules[c].kind == 't' && buf_put(&outs[c].values, &zero, 4))
            return -1;
    if (p >= end)
        return -1;
    while (p < end) {
        if (*p == '\n' || *p == '\r')
            return -1; /* a blank line */
        for (int c = 0; c < rules->count; c++) {
            const char *text;
            size_t n;
            if (cut_cell(&p, end, scratch, &text, &n) || put_cell(rules, &rules->rules[c], &outs[c], row, text, n) ||
                csv_after_cell(&p, end, c == rules->count - 1))
                return -1;
        }
        row++;
    }
    for (int c = 0; c < rules->count; c++)
        if (outs[c].data.len > INT32_MAX)
            return -1;
    *rows = row;
    return 0;
}

static PyObject *out_tuple(const Rule *rule, Out *out) {
    if (rule->kind == 'a')
        Py_RETURN_NONE;
    if (rule->kind == 't')
        return Py_BuildValue("(NNNL)", as_buffer(&out->valid), as_buffer(&out->values), as_buffer(&out->data),
                             (long long)out->nulls);
    return Py_BuildValue("(NNL)", as_buffer(&out->valid), as_buffer(&out->values), (long long)out->nulls);
}

typedef struct {
    const Rules *rules;
    Out *outs;
} Read;

static PyObject *read_column(void *context, int c) {
    Read *read = context;
    return out_tuple(&read->rules->rules[c], &read->outs[c]);
}

/* read_checked_csv(block, rules) -> (rows, columns) or None: each column (validity, offsets, data,
 * nulls) for text, (validity, values, nulls) for the others, None for an always blank one. */
PyObject *py_read_checked_csv(PyObject *self, PyObject *args) {
    Py_buffer block;
    PyObject *capsule;
    if (!PyArg_ParseTuple(args, "y*O", &block, &capsule))
        return NULL;
    const Rules *rules = PyCapsule_GetPointer(capsule, RULES_CAPSULE);
    if (!rules) {
        PyBuffer_Release(&block);
        return NULL;
    }
    Out *outs = calloc((size_t)rules->count, sizeof(Out));
    if (!outs) {
        PyBuffer_Release(&block);
        return PyErr_NoMemory();
    }
    Buf scratch;
    int64_t rows = 0;
    int failed;
    Py_BEGIN_ALLOW_THREADS
    for (int c = 0; c < rules->count; c++) {
        buf_take(&outs[c].valid, CHECKED_SLOTS + 3 * c);
        buf_take(&outs[c].values, CHECKED_SLOTS + 3 * c + 1);
        buf_take(&outs[c].data, CHECKED_SLOTS + 3 * c + 2);
    }
    buf_take(&scratch, CHECKED_SLOTS + 3 * MAX_CELLS);
    failed = read_records(rules, outs, &scratch, (const char *)block.buf, (const char *)block.buf + block.len, &rows);
    Py_END_ALLOW_THREADS
    PyObject *result = NULL;
    if (failed) {
        result = Py_None;
        Py_INCREF(result);
    } else {
        Read read = {rules, outs};
        PyObject *columns = tuple_of(rules->count, read_column, &read);
        if (columns)
            result = Py_BuildValue("(LN)", (long long)rows, columns);
    }
    for (int c = 0; c < rules->count; c++) {
        buf_give(&outs[c].valid);
        buf_give(&outs[c].values);
        buf_give(&outs[c].data);
    }
    buf_give(&scratch);
    free(outs);
    PyBuffer_Release(&block);
    return result;
}
