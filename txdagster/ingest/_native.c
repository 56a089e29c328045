/* The ingest road's C parts, each run without the GIL: the NDJSON reader of the columnar road's common
 * case (a block of canonical lines straight into Arrow buffers, in one pass; columnar/native.py
 * wraps it and documents its rules; likewise change batches and CSV records), a line count
 * (chunks.lines_in), blocks joined from chunks (chunks.py), the ids' fingerprints (fingerprints.py)
 * and amounts from text (numbers.py). CSV records read and checked in one pass: _checked_csv.c.
 *
 * It reads a block only when it is sure to read it exactly as pyarrow's JSON reader with the contract's
 * read schema would: every line one object of known fields (at most once each), text fields JSON
 * strings of valid UTF-8 or null, integer fields plain JSON integers or null, the map field an object
 * of string values or null. Anything else (an unknown field, a number where text belongs, a blank
 * line, deeper nesting, a lone surrogate...) makes it answer None, and the block takes pyarrow's road,
 * which knows every other case. It never decides what is valid: the contract's checks run after it on
 * the columns it gives, as they run on pyarrow's.
 */
#include "_native.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MAX_FIELDS 32
#define MAX_COLUMNS (3 + 2 * (MAX_FIELDS + 1)) /* a change batch: 3 of the change, fields and presence per image */
#define MAX_MAP_KEYS 64      /* distinct keys of the map field in one block */
#define MAX_ROW_ENTRIES 64   /* keys in one row's map */
#define MAX_INT_DIGITS 18    /* a plain integer always fits int64 */
#define POOL_BYTES (256 << 20) /* the most memory kept for reuse */
#define POOL_MAX 1024


int buf_reserve(Buf *b, size_t more) {
    if (b->len + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    char *grown = realloc(b->data, cap);
    if (!grown)
        return -1;
    b->data = grown;
    b->cap = cap;
    return 0;
}

/* Buffers go back to a pool when Arrow is done with them and are taken again for the next blocks:
 * fresh memory costs a page fault per 4 KiB on first touch, more than reading the bytes into it. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static Buf pool[POOL_MAX];
static int pooled = 0;
static size_t pool_bytes = 0;

void buf_take(Buf *b, int slot) {
    b->data = NULL;
    b->len = b->cap = 0;
    pthread_mutex_lock(&pool_lock);
    int found = pooled - 1;
    while (found >= 0 && pool[found].slot != slot)
        found--;
    if (found >= 0) { /* one that served the same use: it has the size this one needs */
        *b = pool[found];
        pool[found] = pool[--pooled];
        pool_bytes -= b->cap;
        b->len = 0;
    }
    pthread_mutex_unlock(&pool_lock);
    b->slot = slot;
}

void buf_give(Buf *b) {
    if (!b->data)
        return;
    pthread_mutex_lock(&pool_lock);
    if (pooled < POOL_MAX && pool_bytes + b->cap <= POOL_BYTES) {
        pool[pooled++] = *b;
        pool_bytes += b->cap;
        b->data = NULL;
    }
    pthread_mutex_unlock(&pool_lock);
    free(b->data);
    b->data = NULL;
}

int buf_put(Buf *b, const void *src, size_t n) {
    if (buf_reserve(b, n))
        return -1;
    memcpy(b->data + b->len, src, n);
    b->len += n;
    return 0;
}

typedef struct {
    char kind;    /* 's' text, 'i' integer, 'm' string map, 'p' presence only (a validity bitmap) */
    Buf offsets;  /* int32 per row + 1 (text); int64 values (integer); int32 map offsets (map) */
    Buf data;     /* UTF-8 bytes (text); map values' bytes (map) */
    Buf valid;    /* Arrow's validity bitmap: a bit a row, 1 present */
    Buf keys;     /* map: int32 key ids, an entry each */
    Buf value_offsets; /* map: int32 per entry + 1 */
    int64_t nulls;
} Column;

typedef struct {
    const char *name;
    Py_ssize_t len;
} Name;

typedef struct {
    int count;
    Name names[MAX_MAP_KEYS];
} MapKeys;

typedef struct {
    int id;
    size_t start, len; /* the value's bytes, decoded, in a scratch buffer */
} Entry;

static inline const char *skip_space(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    return p;
}


static inline int hex4(const char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static int put_code_point(Buf *b, unsigned cp) {
    unsigned char out[4];
    size_t n;
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        out[0] = (unsigned char)(0xF0 | (cp >> 18));
        out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_put(b, out, n);
}

/* A JSON string whose opening quote is at p, decoded into b. Returns the byte after the closing quote,
 * or NULL when the reader does not take it. */
static unsigned char PLAIN[256]; /* 1: a byte a string holds as it is (printable ASCII but quote, backslash) */

static void init_plain(void) {
    for (int c = 0x20; c < 0x80; c++)
        PLAIN[c] = c != '"' && c != '\\';
}

/* How many bytes from p on are plain (PLAIN), 16 at a time: p + 16 <= end. */
static inline size_t plain_run(const char *p, const char *end) {
    const char *start = p;
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x1F);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        /* a control byte or one >= 0x80: signed, both are <= 0x1F */
        __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                       _mm_cmpgt_epi8(_mm_add_epi8(space, _mm_set1_epi8(1)), v));
        int mask = _mm_movemask_epi8(special);
        if (mask)
            return (size_t)(p - start) + (size_t)__builtin_ctz((unsigned)mask);
        p += 16;
    }
#endif
    while (p < end && PLAIN[(unsigned char)*p])
        p++;
    return (size_t)(p - start);
}

static const char *read_string(const char *p, const char *end, Buf *b) {
    p++;
    /* a string's decoded bytes are never more than its raw ones: room for the rest of the line */
    if (buf_reserve(b, (size_t)(end - p)))
        return NULL;
    for (;;) {
        const char *run = p;
        size_t n = plain_run(p, end);
        memcpy(b->data + b->len, run, n);
        p += n;
        b->len += n;
        if (p >= end)
            return NULL;
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p + 1;
        if (c < 0x20)
            return NULL; /* a raw control character: not JSON */
        if (c >= 0x80) {
            int n = utf8_sequence((const unsigned char *)p, (const unsigned char *)end);
            if (!n || buf_put(b, p, (size_t)n))
                return NULL;
            p += n;
            continue;
        }
        /* a backslash */
        if (end - p < 2)
            return NULL;
        char e = p[1];
        char simple = 0;
        switch (e) {
        case '"': simple = '"'; break;
        case '\\': simple = '\\'; break;
        case '/': simple = '/'; break;
        case 'b': simple = '\b'; break;
        case 'f': simple = '\f'; break;
        case 'n': simple = '\n'; break;
        case 'r': simple = '\r'; break;
        case 't': simple = '\t'; break;
        case 'u': break;
        default: return NULL;
        }
        if (simple) {
            if (buf_put(b, &simple, 1))
                return NULL;
            p += 2;
            continue;
        }
        unsigned cp;
        if (end - p < 6 || hex4(p + 2, &cp))
            return NULL;
        p += 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return NULL; /* a lone low surrogate */
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned low;
            if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &low) || low < 0xDC00 || low > 0xDFFF)
                return NULL; /* a lone high surrogate */
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            p += 6;
        }
        if (put_code_point(b, cp))
            return NULL;
    }
}

/* A key: a JSON string without escapes (a key with one goes to pyarrow). */
static const char *read_key(const char *p, const char *end, const char **start, Py_ssize_t *len) {
    if (p >= end || *p != '"')
        return NULL;
    p++;
    *start = p;
    while (p < end && *p != '"') {
        if (*p == '\\' || (unsigned char)*p < 0x20 || (unsigned char)*p >= 0x80)
            return NULL;
        p++;
    }
    if (p >= end)
        return NULL;
    *len = p - *start;
    return p + 1;
}

static inline int is_literal(const char *p, const char *end, const char *word, size_t n) {
    return (size_t)(end - p) >= n && memcmp(p, word, n) == 0;
}

/* After a value: the byte that ends it must be a delimiter. */
static inline int ends_value(const char *p, const char *end) {
    return p >= end || *p == ' ' || *p == '\t' || *p == '\r' || *p == ',' || *p == '}' || *p == '\n';
}

static const char *read_integer(const char *p, const char *end, int64_t *out) {
    int negative = 0;
    if (p < end && *p == '-') {
        negative = 1;
        p++;
    }
    const char *digits = p;
    int64_t v = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        v = v * 10 + (*p - '0');
        p++;
        if (p - digits > MAX_INT_DIGITS)
            return NULL;
    }
    if (p == digits || (*digits == '0' && (p - digits > 1 || negative)) || !ends_value(p, end))
        return NULL; /* no digit, a leading zero, -0, a fraction or an exponent */
    *out = negative ? -v : v;
    return p;
}

static int map_key_id(MapKeys *keys, const char *name, Py_ssize_t len) {
    for (int i = 0; i < keys->count; i++)
        if (keys->names[i].len == len && memcmp(keys->names[i].name, name, (size_t)len) == 0)
            return i;
    if (keys->count == MAX_MAP_KEYS)
        return -1;
    keys->names[keys->count].name = name;
    keys->names[keys->count].len = len;
    return keys->count++;
}

static const char *read_tagged_string(const char *p, const char *end, char tag, Buf *b);

/* The map field's object at p (with ``tagged``, DynamoDB's: each value a ``{"S": text}``): its entries,
 * ordered by when each key first came in the block (as pyarrow infers a struct's fields), appended to
 * the column. */
static const char *read_map(const char *p, const char *end, Column *col, MapKeys *keys, Buf *scratch, int tagged) {
    Entry entries[MAX_ROW_ENTRIES];
    int count = 0;
    scratch->len = 0;
    p = skip_space(p + 1, end);
    if (p < end && *p == '}')
        return NULL; /* an empty object: pyarrow's inference of it is its own */
    for (;;) {
        const char *name;
        Py_ssize_t len;
        p = read_key(p, end, &name, &len);
        if (!p || count == MAX_ROW_ENTRIES)
            return NULL;
        int id = map_key_id(keys, name, len);
        if (id < 0)
            return NULL;
        for (int i = 0; i < count; i++)
            if (entries[i].id == id)
                return NULL; /* a key twice in one object */
        p = skip_space(p, end);
        if (p >= end || *p != ':')
            return NULL;
        p = skip_space(p + 1, end);
        size_t start = scratch->len;
        if (tagged)
            p = read_tagged_string(p, end, 'S', scratch);
        else if (p < end && *p == '"')
            p = read_string(p, end, scratch);
        else
            return NULL; /* only text values (a null or a number goes to pyarrow) */
        if (!p)
            return NULL;
        entries[count].id = id;
        entries[count].start = start;
        entries[count].len = scratch->len - start;
        count++;
        p = skip_space(p, end);
        if (p < end && *p == ',') {
            p = skip_space(p + 1, end);
            continue;
        }
        if (p < end && *p == '}')
            break;
        return NULL;
    }
    for (int i = 1; i < count; i++) { /* insertion sort by key id: a handful of entries */
        Entry e = entries[i];
        int j = i - 1;
        while (j >= 0 && entries[j].id > e.id) {
            entries[j + 1] = entries[j];
            j--;
        }
        entries[j + 1] = e;
    }
    for (int i = 0; i < count; i++) {
        int32_t id = entries[i].id;
        if (buf_put(&col->keys, &id, 4) || buf_put(&col->data, scratch->data + entries[i].start, entries[i].len))
            return NULL;
        int32_t offset = (int32_t)col->data.len;
        if (buf_put(&col->value_offsets, &offset, 4))
            return NULL;
    }
    return p + 1;
}

typedef struct {
    int count; /* fields */
    Name names[MAX_FIELDS];
    int ncolumns;
    Column columns[MAX_COLUMNS];
    MapKeys map_keys[2]; /* a change batch has two images */
    Buf scratch;
    int64_t rows;
    int next_field[2][MAX_FIELDS + 1]; /* the field that came after field i - 1 (first: [0]) last time */
    int slots;                         /* where its buffers' pool slots start */
    char tags[MAX_FIELDS];             /* change batches: each field's DynamoDB tag ('S', 'N' or 'M') */
} Reader;

static inline int same_name(const Name *n, const char *name, Py_ssize_t len) {
    if (n->len != len)
        return 0;
    for (Py_ssize_t i = 0; i < len; i++) /* a dozen bytes: no call to memcmp */
        if (n->name[i] != name[i])
            return 0;
    return 1;
}

/* The field that followed ``previous`` in the line before, when the key at p (its opening quote) names
 * it: its bytes and the closing quote compared where they stand, the key not scanned at all. */
static inline int predicted_field(Reader *r, int side, int previous, const char *p, const char *end) {
    int guess = r->next_field[side][previous + 1];
    if (guess < 0)
        return -1;
    const Name *n = &r->names[guess];
    if (end - p < n->len + 2 || *p != '"' || p[n->len + 1] != '"' || memcmp(p + 1, n->name, (size_t)n->len) != 0)
        return -1;
    return guess;
}

/* The field a key names: lines mostly give their fields in the order the line before did, so the
 * field that followed ``previous`` there is tried first. */
static int field_index(Reader *r, int side, int previous, const char *name, Py_ssize_t len) {
    int guess = r->next_field[side][previous + 1];
    if (guess >= 0 && same_name(&r->names[guess], name, len))
        return guess;
    for (int i = 0; i < r->count; i++)
        if (same_name(&r->names[i], name, len)) {
            r->next_field[side][previous + 1] = i;
            return i;
        }
    return -1;
}

/* The key at p (its opening quote) as one of the fields; p moved past it. -1: not a field. */
static int next_field(Reader *r, int side, int previous, const char **at, const char *end) {
    const char *p = *at;
    int f = predicted_field(r, side, previous, p, end);
    if (f >= 0) {
        *at = p + r->names[f].len + 2;
        return f;
    }
    const char *name;
    Py_ssize_t len;
    p = read_key(p, end, &name, &len);
    if (!p)
        return -1;
    *at = p;
    return field_index(r, side, previous, name, len);
}

/* The row's cell of a column done: its validity bit, and its end offset (text, map). */
static int finish_cell(Column *col, unsigned present, int64_t row) {
    if ((row & 7) == 0) {
        char none = 0;
        if (buf_put(&col->valid, &none, 1))
            return -1;
    }
    col->valid.data[row >> 3] |= (char)(present << (row & 7));
    col->nulls += !present;
    if (col->kind == 'i') {
        int64_t zero = 0;
        return present ? 0 : buf_put(&col->offsets, &zero, 8);
    }
    if (col->kind == 'p')
        return 0;
    int32_t offset = (int32_t)(col->kind == 's' ? col->data.len : col->keys.len / 4);
    return buf_put(&col->offsets, &offset, 4);
}

/* One line [p, end) holding one object. Returns 0, or -1 when the reader does not take it. */
static int read_line(Reader *r, const char *p, const char *end) {
    uint32_t seen = 0;
    int previous = -1;
    p = skip_space(p, end);
    if (p >= end || *p != '{')
        return -1;
    p = skip_space(p + 1, end);
    if (p < end && *p == '}') {
        p++;
    } else {
        for (;;) {
            int f = next_field(r, 0, previous, &p, end);
            if (f < 0 || (seen & (1u << f)))
                return -1; /* a field the contract does not know, or one given twice */
            previous = f;
            p = skip_space(p, end);
            if (p >= end || *p != ':')
                return -1;
            p = skip_space(p + 1, end);
            Column *col = &r->columns[f];
            if (p < end && *p == 'n') {
                if (!is_literal(p, end, "null", 4) || !ends_value(p + 4, end))
                    return -1;
                p += 4; /* null: as absent */
            } else if (col->kind == 's') {
                if (p >= end || *p != '"')
                    return -1;
                p = read_string(p, end, &col->data);
                if (!p)
                    return -1;
                seen |= 1u << f;
            } else if (col->kind == 'i') {
                int64_t v;
                p = read_integer(p, end, &v);
                if (!p || buf_put(&col->offsets, &v, 8))
                    return -1;
                seen |= 1u << f;
            } else {
                if (p >= end || *p != '{')
                    return -1;
                p = read_map(p, end, col, &r->map_keys[0], &r->scratch, 0);
                if (!p)
                    return -1;
                seen |= 1u << f;
            }
            p = skip_space(p, end);
            if (p < end && *p == ',') {
                p = skip_space(p + 1, end);
                continue;
            }
            if (p < end && *p == '}') {
                p++;
                break;
            }
            return -1;
        }
    }
    if (skip_space(p, end) != end)
        return -1; /* something after the object */
    for (int f = 0; f < r->count; f++)
        if (finish_cell(&r->columns[f], (seen >> f) & 1u, r->rows))
            return -1;
    r->rows++;
    return 0;
}

typedef int (*LineReader)(Reader *r, const char *p, const char *end);

/* ---- CSV: records of the header's columns, every cell text ---- */

/* A cell's text at p into col (blank: null); p moved to the byte after it. -1: not taken. */
static int read_csv_cell(Column *col, const char **at, const char *end) {
    const char *p = *at;
    Buf *b = &col->data;
    if (p < end && *p == '"') { /* quoted: "" is a quote, line breaks kept */
        p++;
        for (;;) {
            const char *run = p;
            while (p < end && *p != '"' && (unsigned char)*p < 0x80)
                p++;
            if (p > run && buf_put(b, run, (size_t)(p - run)))
                return -1;
            if (p >= end)
                return -1; /* a quote never closed */
            if ((unsigned char)*p >= 0x80) {
                int n = utf8_sequence((const unsigned char *)p, (const unsigned char *)end);
                if (!n || buf_put(b, p, (size_t)n))
                    return -1;
                p += n;
                continue;
            }
            if (end - p >= 2 && p[1] == '"') {
                if (buf_put(b, "\"", 1))
                    return -1;
                p += 2;
                continue;
            }
            p++; /* the closing quote: a delimiter or the record's end must follow */
            if (p < end && *p != ',' && *p != '\n' && *p != '\r')
                return -1;
            break;
        }
    } else {
        for (;;) {
            const char *run = p;
            while (p < end && *p != ',' && *p != '\n' && *p != '\r' && *p != '"' && (unsigned char)*p < 0x80)
                p++;
            if (p > run && buf_put(b, run, (size_t)(p - run)))
                return -1;
            if (p < end && *p == '"')
                return -1; /* a quote inside an unquoted cell: pyarrow's reading of it is its own */
            if (p < end && (unsigned char)*p >= 0x80) {
                int n = utf8_sequence((const unsigned char *)p, (const unsigned char *)end);
                if (!n || buf_put(b, p, (size_t)n))
                    return -1;
                p += n;
                continue;
            }
            break;
        }
    }
    *at = p;
    return 0;
}

/* The block's records, each of exactly the header's cells, every one in its column as text (a blank
 * cell null); a record ends at \n or \r\n. A blank line, a lone \r, a record of more or fewer cells:
 * not taken. */
static int read_csv(Reader *r, const char *p, const char *end) {
    while (p < end) {
        for (int c = 0; c < r->ncolumns; c++) {
            Column *col = &r->columns[c];
            size_t before = col->data.len;
            if (read_csv_cell(col, &p, end))
                return -1;
            if (finish_cell(col, col->data.len > before, r->rows) || csv_after_cell(&p, end, c == r->ncolumns - 1))
                return -1;
        }
        r->rows++;
    }
    return 0;
}

static int read_block(Reader *r, LineReader read, const char *p, const char *end) {
    int32_t zero = 0;
    for (int i = 0; i < r->ncolumns; i++) {
        Column *col = &r->columns[i];
        if (col->kind != 'i' && col->kind != 'p' && buf_put(&col->offsets, &zero, 4))
            return -1;
        if (col->kind == 'm' && buf_put(&col->value_offsets, &zero, 4))
            return -1;
    }
    if (p >= end)
        return -1; /* nothing to read */
    if (!read && read_csv(r, p, end))
        return -1;
    while (read && p < end) {
        const char *line_end = memchr(p, '\n', (size_t)(end - p));
        if (!line_end)
            line_end = end;
        if (read(r, p, line_end))
            return -1; /* a blank line too: pyarrow's road counts lines */
        p = line_end + 1;
    }
    for (int i = 0; i < r->ncolumns; i++)
        if (r->columns[i].data.len > INT32_MAX || r->columns[i].keys.len / 4 > INT32_MAX)
            return -1;
    return 0;
}

static void take_buffers(Reader *r) {
    for (int i = 0; i < r->ncolumns; i++) {
        Column *col = &r->columns[i];
        int slot = r->slots + 5 * i;
        buf_take(&col->offsets, slot);
        buf_take(&col->data, slot + 1);
        buf_take(&col->valid, slot + 2);
        buf_take(&col->keys, slot + 3);
        buf_take(&col->value_offsets, slot + 4);
    }
    buf_take(&r->scratch, r->slots + 5 * MAX_COLUMNS);
}

static void give_buffers(Reader *r) {
    for (int i = 0; i < r->ncolumns; i++) {
        Column *col = &r->columns[i];
        buf_give(&col->offsets);
        buf_give(&col->data);
        buf_give(&col->valid);
        buf_give(&col->keys);
        buf_give(&col->value_offsets);
    }
    buf_give(&r->scratch);
}

static const char *CAPSULE = "txdagster.ingest._native.buffer";

static void release_buffer(PyObject *capsule) {
    Buf *b = PyCapsule_GetPointer(capsule, CAPSULE);
    buf_give(b);
    free(b);
}

/* A buffer handed to Python as (owner, address, size), for pyarrow.foreign_buffer; the reader's copy
 * is emptied (its memory goes back to the pool when the owner dies). */
PyObject *as_buffer(Buf *b) {
    if (buf_reserve(b, 1))
        return PyErr_NoMemory(); /* an empty buffer still gets an address */
    Buf *owned = malloc(sizeof(Buf));
    if (!owned)
        return PyErr_NoMemory();
    *owned = *b;
    PyObject *capsule = PyCapsule_New(owned, CAPSULE, release_buffer);
    if (!capsule) {
        free(owned);
        return NULL;
    }
    b->data = NULL;
    b->len = b->cap = 0; /* its slot stays */
    return Py_BuildValue("(NKn)", capsule, (unsigned long long)(uintptr_t)owned->data, (Py_ssize_t)owned->len);
}

static PyObject *column_tuple(Column *col) {
    if (col->kind == 'p')
        return Py_BuildValue("(NL)", as_buffer(&col->valid), (long long)col->nulls);
    if (col->kind == 'm')
        return Py_BuildValue("(NNNNNL)", as_buffer(&col->valid), as_buffer(&col->offsets), as_buffer(&col->keys),
                             as_buffer(&col->value_offsets), as_buffer(&col->data), (long long)col->nulls);
    return Py_BuildValue("(NNNL)", as_buffer(&col->valid), as_buffer(&col->offsets), as_buffer(&col->data),
                         (long long)col->nulls);
}

static PyObject *key_names(const MapKeys *keys) {
    PyObject *names = PyTuple_New(keys->count);
    for (int k = 0; names && k < keys->count; k++) {
        PyObject *item = PyUnicode_DecodeUTF8(keys->names[k].name, keys->names[k].len, "strict");
        if (!item) {
            Py_CLEAR(names);
            break;
        }
        PyTuple_SET_ITEM(names, k, item);
    }
    return names;
}

PyObject *tuple_of(int count, PyObject *(*item)(void *context, int i), void *context) {
    PyObject *tuple = PyTuple_New(count);
    for (int i = 0; tuple && i < count; i++) {
        PyObject *one = item(context, i);
        if (!one) {
            Py_CLEAR(tuple);
            break;
        }
        PyTuple_SET_ITEM(tuple, i, one);
    }
    return tuple;
}

static PyObject *reader_column(void *context, int i) { return column_tuple(&((Reader *)context)->columns[i]); }

/* The block read by ``read`` without the GIL: (rows, columns, (map keys, map keys of the old images)),
 * or None when it does not take the block. Frees the reader. */
static PyObject *run_reader(Reader *r, LineReader read, Py_buffer *block) {
    int failed;
    Py_BEGIN_ALLOW_THREADS
    take_buffers(r);
    failed = read_block(r, read, (const char *)block->buf, (const char *)block->buf + block->len);
    Py_END_ALLOW_THREADS
    PyObject *result = NULL;
    if (failed) {
        result = Py_None;
        Py_INCREF(result);
    } else {
        PyObject *columns = tuple_of(r->ncolumns, reader_column, r);
        if (columns)
            result = Py_BuildValue("(LN(NN))", (long long)r->rows, columns, key_names(&r->map_keys[0]),
                                   key_names(&r->map_keys[1]));
    }
    give_buffers(r);
    free(r);
    PyBuffer_Release(block);
    return result;
}

/* A reader of the fields ``names``; NULL with an exception set when they do not fit. */
static Reader *new_reader(PyObject *names, int slots) {
    Reader *r = calloc(1, sizeof(Reader));
    if (!r)
        return (Reader *)PyErr_NoMemory();
    r->count = (int)PyTuple_GET_SIZE(names);
    r->slots = slots;
    for (int side = 0; side < 2; side++)
        for (int f = 0; f <= MAX_FIELDS; f++)
            r->next_field[side][f] = -1;
    if (r->count > MAX_FIELDS) {
        free(r);
        PyErr_SetString(PyExc_ValueError, "at most 32 fields");
        return NULL;
    }
    for (int f = 0; f < r->count; f++) {
        r->names[f].name = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(names, f), &r->names[f].len);
        if (!r->names[f].name) {
            free(r);
            return NULL;
        }
    }
    return r;
}

/* read_ndjson(block, names, kinds) -> (rows, columns, (map keys, ())) or None */
static PyObject *py_read_ndjson(PyObject *self, PyObject *args) {
    Py_buffer block;
    PyObject *names;
    const char *kinds;
    Py_ssize_t kinds_len;
    if (!PyArg_ParseTuple(args, "y*O!s#", &block, &PyTuple_Type, &names, &kinds, &kinds_len))
        return NULL;
    Reader *r = new_reader(names, 0);
    int bad = !r || r->count != kinds_len;
    for (int f = 0; !bad && f < r->count; f++) {
        r->columns[f].kind = kinds[f];
        bad = !strchr("sim", kinds[f]);
    }
    if (bad) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "a kind per name: 's' (text), 'i' (integer) or 'm' (string map)");
        free(r);
        PyBuffer_Release(&block);
        return NULL;
    }
    r->ncolumns = r->count;
    return run_reader(r, read_line, &block);
}

/* read_csv(block, columns) -> (rows, columns, ((), ())) or None: a block of whole CSV records (no
 * header line) as text columns, a blank cell null. */
static PyObject *py_read_csv(PyObject *self, PyObject *args) {
    Py_buffer block;
    int columns;
    if (!PyArg_ParseTuple(args, "y*i", &block, &columns))
        return NULL;
    if (columns < 1 || columns > MAX_COLUMNS) {
        PyBuffer_Release(&block);
        Py_RETURN_NONE; /* more columns than the reader holds: pyarrow's reader reads it */
    }
    PyObject *none = PyTuple_New(0);
    Reader *r = none ? new_reader(none, 10 * MAX_COLUMNS + 2) : NULL;
    Py_XDECREF(none);
    if (!r) {
        PyBuffer_Release(&block);
        return NULL;
    }
    r->ncolumns = columns;
    for (int c = 0; c < columns; c++)
        r->columns[c].kind = 's';
    return run_reader(r, NULL, &block);
}

/* ---- change batches: the stream exporter's DynamoDB-JSON lines ---- */

enum { EVENT, SEQUENCE, SECONDS, SIDES }; /* columns; then each image's fields and its presence */
#define SIDE_COLUMN(r, side, f) (&(r)->columns[SIDES + (side) * ((r)->count + 1) + (f)])
#define SIDE_PRESENT(r, side) SIDE_COLUMN(r, side, (r)->count)

/* ``{"<tag>": "text"}`` at p, the text decoded into b. */
static const char *read_tagged_string(const char *p, const char *end, char tag, Buf *b) {
    if (end - p < 5 || p[0] != '{')
        return NULL;
    p = skip_space(p + 1, end);
    if (end - p < 3 || p[0] != '"' || p[1] != tag || p[2] != '"')
        return NULL;
    p = skip_space(p + 3, end);
    if (p >= end || *p != ':')
        return NULL;
    p = skip_space(p + 1, end);
    if (p >= end || *p != '"')
        return NULL;
    p = read_string(p, end, b);
    if (!p)
        return NULL;
    p = skip_space(p, end);
    return p < end && *p == '}' ? p + 1 : NULL;
}

/* A JSON number's text (its grammar checked) into b; pyarrow converts it from text as a cast does. */
static const char *read_number_text(const char *p, const char *end, Buf *b) {
    const char *start = p;
    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0') {
        p++;
    } else if (p < end && *p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    } else {
        return NULL;
    }
    if (p < end && *p == '.') {
        const char *digits = ++p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        if (p == digits)
            return NULL;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        const char *digits = p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        if (p == digits)
            return NULL;
    }
    if (!ends_value(p, end) || p - start > 64 || buf_put(b, start, (size_t)(p - start)))
        return NULL;
    return p;
}

/* An image (``{"<field>": {"S"|"N": text}, ..., "attributes": {"M": {...}}}``) at p into its side's
 * columns; a field absent or null is null. */
static const char *read_image(Reader *r, int side, const char *p, const char *end, const char *tags) {
    uint32_t seen = 0;
    int previous = -1;
    p = skip_space(p + 1, end);
    if (p < end && *p == '}') {
        p++;
    } else {
        for (;;) {
            int f = next_field(r, side, previous, &p, end);
            if (f < 0 || (seen & (1u << f)))
                return NULL; /* an attribute the contract does not know, or one given twice */
            previous = f;
            p = skip_space(p, end);
            if (p >= end || *p != ':')
                return NULL;
            p = skip_space(p + 1, end);
            Column *col = SIDE_COLUMN(r, side, f);
            if (p < end && *p == 'n') {
                if (!is_literal(p, end, "null", 4) || !ends_value(p + 4, end))
                    return NULL;
                p += 4;
            } else if (tags[f] == 'M') {
                if (p >= end || *p != '{')
                    return NULL;
                p = skip_space(p + 1, end);
                if (end - p < 3 || memcmp(p, "\"M\"", 3) != 0)
                    return NULL;
                p = skip_space(p + 3, end);
                if (p >= end || *p != ':')
                    return NULL;
                p = skip_space(p + 1, end);
                if (p >= end || *p != '{')
                    return NULL;
                p = read_map(p, end, col, &r->map_keys[side], &r->scratch, 1);
                if (!p)
                    return NULL;
                p = skip_space(p, end);
                if (p >= end || *p != '}')
                    return NULL;
                p++;
                seen |= 1u << f;
            } else {
                p = read_tagged_string(p, end, tags[f], &col->data);
                if (!p)
                    return NULL;
                seen |= 1u << f;
            }
            p = skip_space(p, end);
            if (p < end && *p == ',') {
                p = skip_space(p + 1, end);
                continue;
            }
            if (p < end && *p == '}') {
                p++;
                break;
            }
            return NULL;
        }
    }
    for (int f = 0; f < r->count; f++)
        if (finish_cell(SIDE_COLUMN(r, side, f), (seen >> f) & 1u, r->rows))
            return NULL;
    return p;
}

/* ``{"transaction_id": {"S": text}}``: a change's keys, which the lake does not read. */
static const char *skip_keys(Reader *r, const char *p, const char *end) {
    if (p >= end || *p != '{')
        return NULL;
    p = skip_space(p + 1, end);
    if (end - p < 16 || memcmp(p, "\"transaction_id\"", 16) != 0)
        return NULL;
    p = skip_space(p + 16, end);
    if (p >= end || *p != ':')
        return NULL;
    size_t mark = r->scratch.len;
    p = read_tagged_string(skip_space(p + 1, end), end, 'S', &r->scratch);
    r->scratch.len = mark;
    if (!p)
        return NULL;
    p = skip_space(p, end);
    return p < end && *p == '}' ? p + 1 : NULL;
}

static const char *CHANGE_KEYS[] = {"event_id", "event_name", "sequence_number", "approximate_creation_time",
                                    "keys", "new_image", "old_image"};
#define CHANGE_KEY_COUNT 7

/* One change line: its event, sequence number and time, and both images. */
static int read_change_line(Reader *r, const char *p, const char *end) {
    unsigned seen = 0, present = 0;
    p = skip_space(p, end);
    if (p >= end || *p != '{')
        return -1;
    p = skip_space(p + 1, end);
    for (;;) {
        const char *name;
        Py_ssize_t len;
        p = read_key(p, end, &name, &len);
        if (!p)
            return -1;
        int k = 0;
        while (k < CHANGE_KEY_COUNT && !((size_t)len == strlen(CHANGE_KEYS[k]) && !memcmp(name, CHANGE_KEYS[k], len)))
            k++;
        if (k == CHANGE_KEY_COUNT || (seen & (1u << k)))
            return -1; /* a field the exporter does not write, or one given twice */
        seen |= 1u << k;
        p = skip_space(p, end);
        if (p >= end || *p != ':')
            return -1;
        p = skip_space(p + 1, end);
        int null = p < end && *p == 'n';
        if (null) {
            if (!is_literal(p, end, "null", 4) || !ends_value(p + 4, end) || k == 0 || k == 4)
                return -1;
            p += 4;
        } else if (k == 0) { /* event_id: text, not read */
            size_t mark = r->scratch.len;
            p = *p == '"' ? read_string(p, end, &r->scratch) : NULL;
            r->scratch.len = mark;
        } else if (k == 1 || k == 2) {
            p = *p == '"' ? read_string(p, end, &r->columns[k == 1 ? EVENT : SEQUENCE].data) : NULL;
        } else if (k == 3) {
            p = read_number_text(p, end, &r->columns[SECONDS].data);
        } else if (k == 4) {
            p = skip_keys(r, p, end);
        } else {
            p = *p == '{' ? read_image(r, k - 5, p, end, r->tags) : NULL;
        }
        if (!p)
            return -1;
        if (!null)
            present |= 1u << k;
        p = skip_space(p, end);
        if (p < end && *p == ',') {
            p = skip_space(p + 1, end);
            continue;
        }
        if (p < end && *p == '}') {
            p++;
            break;
        }
        return -1;
    }
    if (skip_space(p, end) != end)
        return -1;
    if (finish_cell(&r->columns[EVENT], (present >> 1) & 1u, r->rows) ||
        finish_cell(&r->columns[SEQUENCE], (present >> 2) & 1u, r->rows) ||
        finish_cell(&r->columns[SECONDS], (present >> 3) & 1u, r->rows))
        return -1;
    for (int side = 0; side < 2; side++) {
        unsigned has = (present >> (5 + side)) & 1u;
        if (!has) /* no image: every field of it null */
            for (int f = 0; f < r->count; f++)
                if (finish_cell(SIDE_COLUMN(r, side, f), 0, r->rows))
                    return -1;
        if (finish_cell(SIDE_PRESENT(r, side), has, r->rows))
            return -1;
    }
    r->rows++;
    return 0;
}

/* read_changes(block, names, tags) -> (rows, columns, (new images' map keys, old images')) or None.
 * Columns: event_name, sequence_number, approximate_creation_time (its text), then for NewImage and
 * OldImage each field's tagged text (the map field: its entries) and the image's presence. */
static PyObject *py_read_changes(PyObject *self, PyObject *args) {
    Py_buffer block;
    PyObject *names;
    const char *tags;
    Py_ssize_t tags_len;
    if (!PyArg_ParseTuple(args, "y*O!s#", &block, &PyTuple_Type, &names, &tags, &tags_len))
        return NULL;
    Reader *r = new_reader(names, 5 * MAX_COLUMNS + 1);
    int bad = !r || r->count != tags_len;
    for (int f = 0; !bad && f < r->count; f++) {
        r->tags[f] = tags[f];
        bad = !strchr("SNM", tags[f]);
    }
    if (bad) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "a tag per name: 'S', 'N' or 'M'");
        free(r);
        PyBuffer_Release(&block);
        return NULL;
    }
    r->ncolumns = SIDES + 2 * (r->count + 1);
    for (int i = 0; i < r->ncolumns; i++)
        r->columns[i].kind = 's';
    for (int side = 0; side < 2; side++) {
        for (int f = 0; f < r->count; f++)
            SIDE_COLUMN(r, side, f)->kind = tags[f] == 'M' ? 'm' : 's';
        SIDE_PRESENT(r, side)->kind = 'p';
    }
    return run_reader(r, read_change_line, &block);
}

static inline uint64_t mix(uint64_t z) { /* splitmix64's finaliser */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* fingerprints(offsets, data, first, rows, wide, key) -> rows uint64 as bytes: the keyed hash of each
 * string of an Arrow string column (offsets int32, or int64 when wide, from slot ``first``), as
 * ingest/fingerprints.py computes it: the length, then each little-endian 8-byte word, zero-padded. */
static PyObject *py_fingerprints(PyObject *self, PyObject *args) {
    Py_buffer offsets, data;
    Py_ssize_t first, rows;
    int wide;
    unsigned long long key;
    if (!PyArg_ParseTuple(args, "y*y*nnpK", &offsets, &data, &first, &rows, &wide, &key))
        return NULL;
    Py_ssize_t width = wide ? 8 : 4;
    PyObject *out = NULL;
    if (first < 0 || rows < 0 || (first + rows + 1) * width > offsets.len) {
        PyErr_SetString(PyExc_ValueError, "the offsets buffer is shorter than the rows");
    } else if ((out = PyBytes_FromStringAndSize(NULL, rows * 8))) {
        uint64_t *prints = (uint64_t *)PyBytes_AS_STRING(out);
        const unsigned char *bytes = data.buf;
        int bad = 0;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < rows && !bad; i++) {
            int64_t low, high;
            if (wide) {
                low = ((const int64_t *)offsets.buf)[first + i];
                high = ((const int64_t *)offsets.buf)[first + i + 1];
            } else {
                low = ((const int32_t *)offsets.buf)[first + i];
                high = ((const int32_t *)offsets.buf)[first + i + 1];
            }
            if (low < 0 || high < low || high > data.len) {
                bad = 1;
                break;
            }
            uint64_t z = mix((uint64_t)(high - low) ^ key);
            for (int64_t at = low; at < high; at += 8) {
                uint64_t word = 0;
                int64_t n = high - at < 8 ? high - at : 8;
                memcpy(&word, bytes + at, (size_t)n); /* little-endian hosts (x86-64, arm64) */
                z = mix(z ^ word);
            }
            prints[i] = z;
        }
        Py_END_ALLOW_THREADS
        if (bad) {
            Py_CLEAR(out);
            PyErr_SetString(PyExc_ValueError, "offsets out of the data buffer");
        }
    }
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&data);
    return out;
}

/* decimals(offsets, data, first, rows, valid, scale, digits) -> rows int128 as bytes, or None: a text
 * column's values as decimals of ``scale``, when every value present (``valid``: Arrow's validity
 * bitmap, or empty when all are) is in the contract's text form: an optional minus, 0 or up to
 * ``digits`` integer digits without a leading zero, and 1 to ``scale`` decimals after a point. Any
 * other value: None, and the checks and cast of numbers.py say what is wrong. */
static PyObject *py_decimals(PyObject *self, PyObject *args) {
    Py_buffer offsets, data, valid;
    Py_ssize_t first, rows;
    int scale, digits;
    if (!PyArg_ParseTuple(args, "y*y*nny*ii", &offsets, &data, &first, &rows, &valid, &scale, &digits))
        return NULL;
    PyObject *out = NULL;
    if (first < 0 || rows < 0 || (first + rows + 1) * 4 > offsets.len || scale < 0 || scale > 18 || digits < 1 ||
        digits > 18 || (valid.len && (first + rows + 7) / 8 > valid.len)) {
        PyErr_SetString(PyExc_ValueError, "buffers shorter than the rows, or a scale or digits out of range");
    } else if ((out = PyBytes_FromStringAndSize(NULL, rows * 16))) {
        __int128 *values = (__int128 *)PyBytes_AS_STRING(out);
        const int32_t *at = (const int32_t *)offsets.buf + first;
        const char *text = data.buf;
        const unsigned char *bits = valid.buf;
        int taken = 1;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < rows && taken; i++) {
            values[i] = 0;
            Py_ssize_t slot = first + i;
            if (valid.len && !((bits[slot >> 3] >> (slot & 7)) & 1))
                continue;
            int32_t low = at[i], high = at[i + 1];
            if (low < 0 || high < low || high > data.len) {
                taken = 0;
                break;
            }
            if (decimal_text(text + low, (size_t)(high - low), scale, digits, &values[i])) {
                taken = 0;
                break;
            }
        }
        Py_END_ALLOW_THREADS
        if (!taken) {
            Py_DECREF(out);
            out = Py_None;
            Py_INCREF(out);
        }
    }
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&data);
    PyBuffer_Release(&valid);
    return out;
}

#define BLOCK_SLOT (1 << 20) /* the pool slot of blocks joined from chunks */

/* join(parts) -> (owner, address, size): the bytes [low, high) of each (chunk, low, high) one after the
 * other, in memory from the pool (a block's worth of fresh pages would fault each time), copied
 * without the GIL. */
static PyObject *py_join(PyObject *self, PyObject *args) {
    PyObject *parts;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &parts))
        return NULL;
    Py_ssize_t count = PyList_GET_SIZE(parts), total = 0;
    const char **sources = PyMem_Calloc((size_t)count + 1, sizeof(char *));
    Py_ssize_t *sizes = PyMem_Calloc((size_t)count + 1, sizeof(Py_ssize_t));
    if (!sources || !sizes) {
        PyMem_Free(sources);
        PyMem_Free(sizes);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < count; i++) { /* the list holds the chunks: they live through the copy */
        PyObject *chunk;
        Py_ssize_t low, high;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(parts, i), "Snn", &chunk, &low, &high) || low < 0 || high < low ||
            high > PyBytes_GET_SIZE(chunk)) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "a part outside its chunk");
            PyMem_Free(sources);
            PyMem_Free(sizes);
            return NULL;
        }
        sources[i] = PyBytes_AS_STRING(chunk) + low;
        sizes[i] = high - low;
        total += high - low;
    }
    Buf b;
    int failed;
    Py_BEGIN_ALLOW_THREADS
    buf_take(&b, BLOCK_SLOT);
    failed = buf_reserve(&b, (size_t)total + 1);
    for (Py_ssize_t i = 0; !failed && i < count; i++) {
        memcpy(b.data + b.len, sources[i], (size_t)sizes[i]);
        b.len += (size_t)sizes[i];
    }
    Py_END_ALLOW_THREADS
    PyMem_Free(sources);
    PyMem_Free(sizes);
    if (failed) {
        buf_give(&b);
        return PyErr_NoMemory();
    }
    return as_buffer(&b);
}

/* count_lines(block) -> the line breaks in the block */
static PyObject *py_count_lines(PyObject *self, PyObject *args) {
    Py_buffer block;
    if (!PyArg_ParseTuple(args, "y*", &block))
        return NULL;
    Py_ssize_t count = 0;
    Py_BEGIN_ALLOW_THREADS
    const char *p = block.buf, *end = p + block.len;
    while ((p = memchr(p, '\n', (size_t)(end - p)))) {
        count++;
        p++;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&block);
    return PyLong_FromSsize_t(count);
}

static PyMethodDef methods[] = {
    {"csv_rules", py_csv_rules, METH_VARARGS,
     "csv_rules(rules, forbidden) -> the rules read_checked_csv applies: one per header column, and the forbidden "
     "code points' ranges."},
    {"read_checked_csv", py_read_checked_csv, METH_VARARGS,
     "read_checked_csv(block, rules) -> (rows, columns) or None: whole CSV records read and checked in one pass "
     "into their lake types, or None when a cell fails its rule or is in a form it does not read."},
    {"read_changes", py_read_changes, METH_VARARGS,
     "read_changes(block, names, tags) -> (rows, columns, (map keys, old map keys)) or None: a block of change "
     "lines as column buffers, or None when pyarrow's reader must read it."},
    {"read_csv", py_read_csv, METH_VARARGS,
     "read_csv(block, columns) -> (rows, columns, ((), ())) or None: whole CSV records as text columns, or None "
     "when pyarrow's reader must read them."},
    {"read_ndjson", py_read_ndjson, METH_VARARGS,
     "read_ndjson(block, names, kinds) -> (rows, columns, (map keys, ())) or None: a block of NDJSON lines as "
     "column buffers, or None when pyarrow's reader must read it."},
    {"count_lines", py_count_lines, METH_VARARGS, "count_lines(block) -> the line breaks in the block."},
    {"join", py_join, METH_VARARGS, "join(parts) -> (owner, address, size): the (chunk, low, high) parts as one buffer."},
    {"decimals", py_decimals, METH_VARARGS,
     "decimals(offsets, data, first, rows, valid, scale, digits) -> int128 decimals as bytes, or None."},
    {"fingerprints", py_fingerprints, METH_VARARGS,
     "fingerprints(offsets, data, first, rows, wide, key) -> uint64 fingerprints of a string column, as bytes."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__native(void) {
    init_plain();
    return PyModule_Create(&module);
}
