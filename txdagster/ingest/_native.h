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

#endif
