/* CSV seed files: header parsing and the record boundary scanner. */
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/fs.h"

#include "sqlbundle/csv.h"

void
sb_csv_cols_free(char **cols, size_t ncols)
{
	for (size_t i = 0; i < ncols; i++)
		free(cols[i]);
	free(cols);
}

/* Append the field text (quotes undone) to the column list. */
static int
add_col(char ***cols, size_t *ncols, const char *text, size_t len,
    struct sb_err *err)
{
	char *s;

	if (len == 0)
		return sb_err_set(err, SB_EINVALID,
		    "empty column name in CSV header (column %zu)",
		    *ncols + 1);
	s = sb_malloc(len + 1);
	memcpy(s, text, len);
	s[len] = '\0';
	*cols = sb_realloc(*cols, (*ncols + 1) * sizeof(**cols));
	(*cols)[(*ncols)++] = s;
	return 0;
}

int
sb_csv_header(const char *buf, size_t len, bool eof, char ***colsp,
    size_t *ncolsp, size_t *usedp, uint64_t *linesp, struct sb_err *err)
{
	char **cols = NULL, *field = NULL;
	size_t ncols = 0, flen = 0, i = 0;
	uint64_t lines = 0;
	int ret = -1;
	bool quoted_field = false, after_quote = false, done = false;

	/* The field buffer never outgrows the header itself. */
	field = sb_malloc(len + 1);
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	else if (!eof && len < 3 && memcmp(buf, "\xef\xbb\xbf", len) == 0) {
		ret = 0;
		goto out;
	}
	if (i == len && eof) {
		sb_err_set(err, SB_EINVALID, "CSV file has no header");
		goto out;
	}
	while (i < len && !done) {
		char c = buf[i];

		if (c == '\0') {
			sb_err_set(err, SB_EINVALID,
			    "NUL byte in CSV header");
			goto out;
		}
		if (quoted_field) {
			if (c == '\n')
				lines++;
			if (c != '"') {
				field[flen++] = c;
				i++;
				continue;
			}
			/* A quote: doubled means a literal one. */
			if (i + 1 == len && !eof) {
				ret = 0;
				goto out;
			}
			if (i + 1 < len && buf[i + 1] == '"') {
				field[flen++] = '"';
				i += 2;
				continue;
			}
			quoted_field = false;
			after_quote = true;
			i++;
			continue;
		}
		if (c == ',' || c == '\n' || c == '\r') {
			if (flen == 0 && !after_quote && c != ',' && ncols == 0) {
				sb_err_set(err, SB_EINVALID,
				    "empty CSV header line");
				goto out;
			}
			if (add_col(&cols, &ncols, field, flen, err) == -1)
				goto out;
			flen = 0;
			after_quote = false;
			if (c == ',') {
				i++;
				continue;
			}
			if (c == '\r') {
				if (i + 1 == len && !eof) {
					ret = 0;
					goto out;
				}
				if (i + 1 < len && buf[i + 1] == '\n')
					i++;
			}
			i++;
			lines++;
			done = true;
			continue;
		}
		if (after_quote) {
			sb_err_set(err, SB_EINVALID,
			    "text after a closing quote in CSV header "
			    "(column %zu)", ncols + 1);
			goto out;
		}
		if (c == '"') {
			if (flen > 0) {
				sb_err_set(err, SB_EINVALID,
				    "quote inside an unquoted CSV header "
				    "field (column %zu)", ncols + 1);
				goto out;
			}
			quoted_field = true;
			i++;
			continue;
		}
		field[flen++] = c;
		i++;
	}
	if (!done) {
		if (!eof) {
			ret = 0;
			goto out;
		}
		if (quoted_field) {
			sb_err_set(err, SB_EINVALID,
			    "unterminated quote in CSV header");
			goto out;
		}
		if (add_col(&cols, &ncols, field, flen, err) == -1)
			goto out;
	}
	*colsp = cols;
	*ncolsp = ncols;
	*usedp = i;
	*linesp = lines;
	cols = NULL;
	ncols = 0;
	ret = 1;
out:
	sb_csv_cols_free(cols, ncols);
	free(field);
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

size_t
sb_csv_scan(struct sb_csv_scan *s, const char *buf, size_t len, bool stop,
    bool *hit)
{
	size_t i = 0;

	*hit = false;
	while (i < len) {
		/* Jump to the next byte that matters. */
		const char *p = buf + i;
		size_t n = len - i, k = 0;

		while (k < n && p[k] != '"' && p[k] != '\n')
			k++;
		i += k;
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
