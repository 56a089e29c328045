/* What the C parts of the ingest road share (_native.c, _checked_csv.c): pooled buffers handed to
 * Arrow, UTF-8 sequences. */
#ifndef INGEST_NATIVE_H
#define INGEST_NATIVE_H
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

typedef struct {
    char *data;
    size_t len, cap;
    int slot; /* which column's which buffer it serves: it comes back to the same use, at the size it needs */
} Buf;

int buf_reserve(Buf *b, size_t more);
/* b empty, or a pooled buffer that served ``slot`` before */
void buf_take(Buf *b, int slot);
/* b's memory back to the pool (or freed) */
void buf_give(Buf *b);
int buf_put(Buf *b, const void *src, size_t n);
/* b handed to Python as (owner, address, size) for pyarrow.foreign_buffer; b emptied */
PyObject *as_buffer(Buf *b);
/* A tuple of ``count`` items made by ``item(context, i)``; NULL (an exception set) when one fails. */
PyObject *tuple_of(int count, PyObject *(*item)(void *context, int i), void *context);

PyObject *py_csv_rules(PyObject *self, PyObject *args);
PyObject *py_read_checked_csv(PyObject *self, PyObject *args);

/* A UTF-8 sequence starting at p (a byte >= 0x80): its length, or 0 when it is not valid UTF-8
 * (overlong forms and encoded surrogates included). */
static inline int utf8_sequence(const unsigned char *p, const unsigned char *end) {
    unsigned char c = p[0];
    if (c >= 0xC2 && c <= 0xDF) {
        if (end - p >= 2 && (p[1] & 0xC0) == 0x80)
            return 2;
        return 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (end - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && p[1] < 0xA0)
            return 0;
        if (c == 0xED && p[1] > 0x9F)
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (end - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && p[1] < 0x90)
            return 0;
        if (c == 0xF4 && p[1] > 0x8F)
            return 0;
        return 4;
    }
    return 0;
}

/* An amount in the contract's form (-?(0|[1-9][0-9]{0,digits-1})(\.[0-9]{1,scale})?) as a decimal of
 * ``scale``. -1: any other text. */
static inline int decimal_text(const char *p, size_t n, int scale, int digits, __int128 *out) {
    const char *end = p + n;
    int negative = p < end && *p == '-';
    p += negative;
    const char *start = p;
    int64_t whole = 0;
    while (p < end && *p >= '0' && *p <= '9')
        whole = whole * 10 + (*p++ - '0');
    int count = (int)(p - start);
    if (count == 0 || count > digits || (count > 1 && *start == '0'))
        return -1;
    int64_t fraction = 0;
    int decimals = 0;
    if (p < end && *p == '.') {
        p++;
        while (p < end && *p >= '0' && *p <= '9' && decimals <= scale) {
            fraction = fraction * 10 + (*p++ - '0');
            decimals++;
        }
        if (decimals == 0 || decimals > scale)
            return -1;
    }
    if (p != end)
        return -1;
    for (int d = decimals; d < scale; d++)
        fraction *= 10;
    __int128 value = (__int128)whole;
    for (int d = 0; d < scale; d++)
        value *= 10;
    value += fraction;
    *out = negative ? -value : value;
    return 0;
}

/* Past what follows a CSV record's cell: the delimiter when more cells follow (``last`` 0), else the
 * record's end (\n, \r\n or the block's end). -1: fewer or more cells than the header, a lone \r. */
static inline int csv_after_cell(const char **at, const char *end, int last) {
    const char *p = *at;
    if (!last) {
        if (p >= end || *p != ',')
            return -1;
        *at = p + 1;
        return 0;
    }
    if (p < end && *p == '\r') {
        if (end - p < 2 || p[1] != '\n')
            return -1;
        p++;
    }
    if (p < end) {
        if (*p != '\n')
            return -1;
        p++;
    }
    *at = p;
    return 0;
}

#endif
