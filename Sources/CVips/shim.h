// libvips for Swift. libvips' API is variadic (name/value option lists ending in NULL), which
// Swift cannot call; these fixed-signature inline wrappers make the calls on Swift's behalf.
#ifndef DCDN_CVIPS_SHIM_H
#define DCDN_CVIPS_SHIM_H

#include <vips/vips.h>

/// libvips' warnings about damaged input would flood the log; the caller reports failures itself.
static void dcdn_vips_drop_warning(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data) {}

/// Starts libvips once per process; its operation cache is off (every request is different and
/// the edge caches results itself). Returns 0 on success.
static inline int dcdn_vips_start(void) {
    if (VIPS_INIT("dcdn")) return -1;
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, dcdn_vips_drop_warning, NULL);
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);
    return 0;
}

/// The loader libvips would use for these bytes ("jpegload_buffer", …), or NULL.
static inline const char *dcdn_vips_loader(const void *data, size_t length) {
    return vips_foreign_find_load_buffer(data, length);
}

/// Opens an image lazily: only its header is read, so its size can be checked before decoding.
static inline VipsImage *dcdn_vips_header(const void *data, size_t length) {
    return vips_image_new_from_buffer(data, length, "", "access", VIPS_ACCESS_SEQUENTIAL, NULL);
}

/// The thumbnail path: shrink-on-load, EXIF auto-rotation, sequential access.
/// `crop` is a VipsInteresting (NONE keeps the whole image), `size` a VipsSize.
static inline VipsImage *dcdn_vips_thumbnail(const void *data, size_t length, int width, int height, int crop, int size) {
    VipsImage *out = NULL;
    // fail_on: decoder errors fail the request. (In 8.14 a truncated JPEG or PNG is only a warning on
    // this path: what arrived is rendered and the rest left grey, as browsers show it.)
    if (vips_thumbnail_buffer((void *)data, length, &out, width, "height", height, "crop", crop, "size", size, "fail_on",
            VIPS_FAIL_ON_ERROR, NULL))
        return NULL;
    return out;
}

/// Alpha flattened onto white (for formats without transparency).
static inline VipsImage *dcdn_vips_flatten_white(VipsImage *in) {
    VipsImage *out = NULL;
    VipsArrayDouble *white = vips_array_double_newv(1, 255.0);
    int failed = vips_flatten(in, &out, "background", white, NULL);
    vips_area_unref(VIPS_AREA(white));
    return failed ? NULL : out;
}

/// Encodes with metadata stripped. format: 0 JPEG, 1 WebP, 2 AVIF, 3 PNG. Returns 0 on success;
/// the caller frees `*data` with g_free.
static inline int dcdn_vips_save(VipsImage *in, int format, int quality, void **data, size_t *length) {
    switch (format) {
    case 0:
        return vips_jpegsave_buffer(in, data, length, "Q", quality, "strip", TRUE, "optimize_coding", TRUE, NULL);
    case 1:
        return vips_webpsave_buffer(in, data, length, "Q", quality, "strip", TRUE, NULL);
    case 2:
        return vips_heifsave_buffer(
            in, data, length, "Q", quality, "strip", TRUE, "compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1, NULL);
    default:
        return vips_pngsave_buffer(in, data, length, "strip", TRUE, NULL);
    }
}

/// An image over packed 8-bit RGB pixels (row-major, `width` × `height` × 3 bytes), not copied:
/// the pixels must outlive it. NULL on failure.
static inline VipsImage *dcdn_vips_from_rgb(const void *pixels, int width, int height) {
    return vips_image_new_from_memory(pixels, (size_t)width * (size_t)height * 3, width, height, 3, VIPS_FORMAT_UCHAR);
}

/// libvips' last error message, then forgotten.
static inline void dcdn_vips_take_error(char *into, size_t capacity) {
    snprintf(into, capacity, "%s", vips_error_buffer());
    vips_error_clear();
}

#endif
