/* CSV seed files: header parsing and the record boundary scanner. */
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/fs.h"
#include "sqlbundle/limits.h"
#include "sqlbundle/text.h"

#include "sqlbundle/csv.h"

void
sb_csv_cols_free(char **cols, size_t ncols)
{
	for (size_t i = 0; i < ncols; i++)
		free(cols[i]);
	free(cols);
}

/* The header being parsed: its columns so far and the field at hand. */
struct hdr {
	char		**cols;
	size_t		  ncols;
	char		 *field;	/* the current name, quotes undone */
	size_t		  flen;
	bool		  quoted;	/* inside quotes */
	bool		  closed;	/* the last byte closed a quote */
	bool		  any;		/* the record has a quote or a comma */
};

/* A name COPY's column list takes: not empty, short, UTF-8, new. */
static int
name_check(const struct hdr *h, struct sb_err *err)
{
	const unsigned char *s = (const unsigned char *)h->field;
	size_t col = h->ncols + 1, k;
	char esc[SB_ESCAPED_MAX];

	if (col > SB_CSV_COLUMNS_MAX)
		return sb_err_set(err, SB_EINVALID, "more than %d columns in "
		    "the CSV header", SB_CSV_COLUMNS_MAX);
	if (h->flen == 0)
		return sb_err_set(err, SB_EINVALID, "empty column name in the "
		    "CSV header (column %zu)", col);
	if (h->flen > SB_CSV_NAME_MAX)
		return sb_err_set(err, SB_EINVALID, "column name longer than "
		    "%d bytes in the CSV header (column %zu)", SB_CSV_NAME_MAX,
		    col);
	for (size_t i = 0; i < h->flen; i += k)
		if ((k = sb_utf8_len(s + i, h->flen - i, NULL)) == 0)
			return sb_err_set(err, SB_EINVALID, "invalid UTF-8 in "
			    "the CSV header (column %zu)", col);
	for (size_t i = 0; i < h->ncols; i++) {
		if (strcmp(h->cols[i], h->field) != 0)
			continue;
		sb_escape_name(h->field, esc, sizeof(esc));
		return sb_err_set(err, SB_EINVALID, "column \"%s\" named twice "
		    "in the CSV header (columns %zu and %zu)", esc, i + 1, col);
	}
	return 0;
}

/* The field ended (at a comma or the line end): add it to the list. */
static int
end_field(struct hdr *h, struct sb_err *err)
{
	h->field[h->flen] = '\0';
	if (name_check(h, err) == -1)
		return -1;
	h->cols = sb_realloc(h->cols, (h->ncols + 1) * sizeof(*h->cols));
	h->cols[h->ncols++] = sb_strdup(h->field);
	h->flen = 0;
	h->closed = false;
	return 0;
}

/*
 * One byte outside quotes: 1 if it ends the record, 0 if not, -1 on
 * error. A quote opens quotes anywhere in a field; right after a closing
 * quote it is a literal quote and reopens them (COPY's reading of "").
 */
static int
unquoted_byte(struct hdr *h, char c, struct sb_err *err)
{
	if (c == '\r' || c == '\n') {
		if (h->ncols == 0 && h->flen == 0 && !h->any)
			return sb_err_set(err, SB_EINVALID, "no column name in "
			    "the CSV header (the first line names the "
			    "columns)");
		return end_field(h, err) == -1 ? -1 : 1;
	}
	h->any |= c == ',' || c == '"';
	if (c == ',')
		return end_field(h, err);
	if (c == '"') {
		if (h->closed)
			h->field[h->flen++] = '"';
		h->quoted = true;
		h->closed = false;
		return 0;
	}
	h->field[h->flen++] = c;
	h->closed = false;
	return 0;
}

/*
 * Parse the header record in buf[0..len). Returns 1 with *used and
 * *lines, 0 if more bytes are needed, -1 on error.
 */
static int
parse(struct hdr *h, const char *buf, size_t len, bool eof, size_t *used,
    uint64_t *lines, struct sb_err *err)
{
	size_t i = 0;
	int r;

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	else if (len < 3 && !eof && memcmp(buf, "\xef\xbb\xbf", len) == 0)
		return 0;
	/* "\." first on a line is COPY's end of data: no header at all. */
	if (len - i >= 2 && memcmp(buf + i, "\\.", 2) == 0 &&
	    (len - i == 2 ? eof : buf[i + 2] == '\n' || buf[i + 2] == '\r'))
		return sb_err_set(err, SB_EINVALID, "the CSV header is COPY's "
		    "end-of-data marker \\.");
	for (; i < len; i++) {
		char c = buf[i];

		if (c == '\0')
			return sb_err_set(err, SB_EINVALID, "NUL byte in the CSV "
			    "header (column %zu)", h->ncols + 1);
		if (h->quoted) {
			*lines += c == '\n';
			if (c == '"') {
				h->quoted = false;
				h->closed = true;
			} else
				h->field[h->flen++] = c;
			continue;
		}
		if ((r = unquoted_byte(h, c, err)) == -1)
			return -1;
		if (r == 0)
			continue;
		/* The line end: CR, LF or CRLF (CR needs its next byte). */
		if (c == '\r' && i + 1 == len && !eof)
			return 0;
		if (c == '\r' && i + 1 < len && buf[i + 1] == '\n')
			i++;
		*used = i + 1;
		(*lines)++;
		return 1;
	}
	if (!eof)
		return 0;
	if (h->quoted)
		return sb_err_set(err, SB_EINVALID, "unterminated quoted name in "
		    "the CSV header (column %zu)", h->ncols + 1);
	if (h->ncols == 0 && h->flen == 0 && !h->any)
		return sb_err_set(err, SB_EINVALID, "no column name in the CSV "
		    "header (the first line names the columns)");
	if (end_field(h, err) == -1)
		return -1;
	*used = len;
	return 1;
}

int
sb_csv_header(const char *buf, size_t len, bool eof, char ***colsp,
    size_t *ncolsp, size_t *usedp, uint64_t *linesp, struct sb_err *err)
{
	struct hdr h = { 0 };
	size_t used = 0;
	uint64_t lines = 0;
	bool full = len >= SB_CSV_HEADER_MAX;
	int ret;

	/* Only the first SB_CSV_HEADER_MAX bytes count, whatever follows. */
	if (full) {
		len = SB_CSV_HEADER_MAX;
		eof = false;
	}
	h.field = sb_malloc(len + 1);
	ret = parse(&h, buf, len, eof, &used, &lines, err);
	if (ret == 0 && full)
		ret = sb_err_set(err, SB_EINVALID, "CSV header longer than %d "
		    "bytes", SB_CSV_HEADER_MAX);
	if (ret == 1) {
		*colsp = h.cols;
		*ncolsp = h.ncols;
		*usedp = used;
		*linesp = lines;
		h.cols = NULL;
		h.ncols = 0;
	}
	sb_csv_cols_free(h.cols, h.ncols);
	free(h.field);
	return ret;
}

void
sb_csv_scan_init(struct sb_csv_scan *s, uint64_t line)
{
	memset(s, 0, sizeof(*s));
	s->line = line;
	s->chunk_line = line;
}

void
sb_csv_chunk(struct sb_csv_scan *s)
{
	s->chunk_line = s->line;
	s->records = 0;
	s->extra = 0;
	s->nmulti = 0;
	s->lost_from = 0;
}

/* The record just ended: remember it if it spanned several lines. */
static void
end_record(struct sb_csv_scan *s)
{
	s->records++;
	if (s->extra == 0)
		return;
	if (s->lost_from != 0 || s->nmulti == SB_CSV_MULTI_MAX) {
		if (s->lost_from == 0)
			s->lost_from = s->records;
	} else {
		if (s->nmulti == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 64;
			s->multi = sb_realloc(s->multi,
			    s->cap * sizeof(*s->multi));
		}
		s->multi[s->nmulti].record = s->records;
		s->multi[s->nmulti].extra = s->extra;
		s->nmulti++;
	}
	s->extra = 0;
}

/*
 * Bytes before the first '"' or LF of p[0..n), eight at a time: a byte
 * equal to c makes (x - ONES) & ~x set its high bit, where x = w ^ c*8.
 */
#define ONES	0x0101010101010101ULL
#define HIGHS	0x8080808080808080ULL

static size_t
plain_run(const char *p, size_t n)
{
	size_t k = 0;

	for (; k + 8 <= n; k += 8) {
		uint64_t w, q, l;

		memcpy(&w, p + k, 8);
		q = w ^ (ONES * '"');
		l = w ^ (ONES * '\n');
		if (((q - ONES) & ~q & HIGHS) | ((l - ONES) & ~l & HIGHS))
			break;
	}
	while (k < n && p[k] != '"' && p[k] != '\n')
		k++;
	return k;
}

size_t
sb_csv_scan(struct sb_csv_scan *s, const char *buf, size_t len, bool stop,
    bool *hit)
{
	size_t i = 0;

	*hit = false;
	while (i < len) {
		/* Jump to the next byte that matters. */
		i += plain_run(buf + i, len - i);
		if (i == len)
			break;
		if (buf[i] == '"') {
			s->quoted = !s->quoted;
			i++;
			continue;
		}
		/* A line break. */
		s->line++;
		i++;
		if (s->quoted) {
			s->extra++;
			continue;
		}
		end_record(s);
		if (stop) {
			*hit = true;
			return i;
		}
		if (i == len)
			*hit = true;
	}
	return len;
}

uint64_t
sb_csv_record_line(const struct sb_csv_scan *s, uint64_t record)
{
	uint64_t line;

	/* Beyond the first forgotten multi-line record, lines are unknown. */
	if (record == 0 || (s->lost_from != 0 && record > s->lost_from))
		return 0;
	line = s->chunk_line + record;
	for (size_t i = 0; i < s->nmulti && s->multi[i].record < record; i++)
		line += s->multi[i].extra;
	return line;
}

uint64_t
sb_csv_copy_record(const struct sb_csv_scan *s, uint64_t copy_line)
{
	uint64_t acc = 0;

	if (copy_line == 0)
		return 0;
	for (size_t i = 0; i < s->nmulti; i++) {
		const struct sb_csv_multi *m = &s->multi[i];

		if (m->record == 1)
			continue;
		if (copy_line < m->record + acc)
			return copy_line - acc;
		if (copy_line <= m->record + acc + m->extra)
			return m->record;
		acc += m->extra;
	}
	if (s->lost_from != 0 && copy_line - acc >= s->lost_from)
		return 0;
	return copy_line - acc;
}

void
sb_csv_scan_release(struct sb_csv_scan *s)
{
	free(s->multi);
	s->multi = NULL;
	s->nmulti = s->cap = 0;
}
