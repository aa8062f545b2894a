/*
 * chello: a component written in C. Its object implements IHello; its
 * greeting includes the Rust `hello` component's, bound through the
 * namespace — so a call crosses from Rust into C and from C into Rust.
 */
#include "tessera.h"

static const tsr_guid iid_unknown = TSR_IID_IUNKNOWN;
static const tsr_guid iid_hello = TSR_IID_IHELLO;

/* Objects of this module alive now (tessera_can_unload reads it). */
static uint32_t live_objects;

typedef struct {
    const IHelloVtbl *vtbl;
    uint32_t references;
} CHello;

static int same_guid(const tsr_guid *a, const tsr_guid *b) {
    for (int i = 0; i < 16; i++) {
        if (a->bytes[i] != b->bytes[i]) {
            return 0;
        }
    }
    return 1;
}

static uint32_t add_ref(void *self) {
    return __atomic_add_fetch(&((CHello *)self)->references, 1, __ATOMIC_RELAXED);
}

static uint32_t release(void *self) {
    uint32_t left = __atomic_sub_fetch(&((CHello *)self)->references, 1, __ATOMIC_ACQ_REL);
    if (left == 0) {
        tessera_free(self);
        if (__atomic_sub_fetch(&live_objects, 1, __ATOMIC_RELEASE) == 0) {
            /* The module's last object is gone: the module may go. */
            tessera_object_unshared(NULL);
        }
    } else if (left <= 2) {
        /* Perhaps only the namespace holds it now (one reference per name). */
        tessera_object_unshared(self);
    }
    return left;
}

static tsr_status query_interface(void *self, const tsr_guid *iid, void **out) {
    if (out == NULL || iid == NULL) {
        return TSR_NULL_POINTER;
    }
    if (!same_guid(iid, &iid_unknown) && !same_guid(iid, &iid_hello)) {
        *out = NULL;
        return TSR_NO_INTERFACE;
    }
    add_ref(self);
    *out = self;
    return TSR_OK;
}

/* Appends `text` at `*used` in `buffer`; false if it does not fit. */
static int append(tsr_mut_bytes buffer, size_t *used, const char *text) {
    for (; *text != 0; text++) {
        if (*used >= buffer.len) {
            return 0;
        }
        buffer.ptr[(*used)++] = (uint8_t)*text;
    }
    return 1;
}

/* Asks the Rust `hello` component for its greeting, into the rest of `buffer`. */
static tsr_status rust_greeting(tsr_mut_bytes buffer, size_t *used) {
    IUnknown *namespace = tessera_current_namespace();
    if (namespace == NULL) {
        return TSR_NOT_FOUND;
    }
    const INamespaceVtbl *names = (const INamespaceVtbl *)namespace->vtbl;
    tsr_str name = {(const uint8_t *)"/hello", 6};
    void *object = NULL;
    tsr_status status = names->bind(namespace, name, 0, &object);
    if (status >= 0) {
        IUnknown *unknown = object;
        void *hello = NULL;
        status = unknown->vtbl->query_interface(unknown, &iid_hello, &hello);
        if (status >= 0) {
            IUnknown *greeter = hello;
            const IHelloVtbl *calls = (const IHelloVtbl *)greeter->vtbl;
            tsr_mut_bytes rest = {buffer.ptr + *used, buffer.len - *used};
            size_t written = 0;
            status = calls->greet(greeter, rest, &written);
            if (status >= 0) {
                *used += written;
            }
            greeter->vtbl->release(greeter);
        }
        unknown->vtbl->release(unknown);
    }
    namespace->vtbl->release(namespace);
    return status;
}

static tsr_status greet(void *self, tsr_mut_bytes buffer, size_t *out) {
    (void)self;
    if (out == NULL) {
        return TSR_NULL_POINTER;
    }
    size_t used = 0;
    if (!append(buffer, &used, "hello from C; the Rust hello says: ")) {
        return TSR_BUFFER_TOO_SMALL;
    }
    tsr_status status = rust_greeting(buffer, &used);
    if (status < 0) {
        return status;
    }
    *out = used;
    return TSR_OK;
}

static const IHelloVtbl chello_vtbl = {
    {query_interface, add_ref, release},
    greet,
};

tsr_status tessera_entry(IUnknown **out) {
    if (out == NULL) {
        return TSR_NULL_POINTER;
    }
    CHello *object = (CHello *)tessera_alloc(sizeof(CHello), 8);
    if (object == NULL) {
        return TSR_OUT_OF_MEMORY;
    }
    object->vtbl = &chello_vtbl;
    object->references = 1;
    __atomic_add_fetch(&live_objects, 1, __ATOMIC_RELAXED);
    *out = (IUnknown *)object;
    return TSR_OK;
}

uint32_t tessera_can_unload(void) {
    return __atomic_load_n(&live_objects, __ATOMIC_ACQUIRE) == 0;
}
