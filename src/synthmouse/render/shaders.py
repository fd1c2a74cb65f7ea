"""GLSL sources of the moderngl renderer (:mod:`synthmouse.render.gl`).

One shading program draws the rig and the mouse, directly and reflected in mirrors:

* vertex positions are world coordinates; ``u_reflect`` is identity, or a mirror's reflection for a mirror
  pass;
* outputs: location 0 ``RGBA8`` = colour + body-part id / 255 in alpha; location 1 ``R32F`` = depth along the
  camera's z axis in metres (for a mirror pass: the reflected point's depth, the apparent distance), recovered
  exactly from ``gl_FragCoord.z``;
* lighting: ambient + directional / point / spot lights (Lambert + normalized Blinn-Phong with Schlick's
  rational approximation of the power) in linear light on the real (unreflected) surface. The fragment
  shader is generated for the scene's lights (types and count are compile-time constants, which matters on
  software rasterizers); colours and positions stay uniforms;
* shadows: one light may cast shadows through two depth maps, one of the rig (drawn once per scene, read
  with one nearest lookup) and one of the mouse (drawn every frame, one bilinear percentage-closer lookup);
* colours: albedos arrive in linear light (gamma 2 decoded); the output is gamma 2 encoded (``sqrt``, close
  to sRGB and much cheaper per pixel than the exact curve), so flat colours come out as written;
* mirrors: a mirror pass clips the reflected scene with ``gl_ClipDistance`` planes to the pyramid from the
  camera through the mirror's polygon, behind the mirror plane. No shader discards fragments, so early depth
  testing stays on.
"""

MAX_LIGHTS = 8
MAX_MIRRORS = 4
MAX_MIRROR_CORNERS = 7
MAX_CLIP_PLANES = MAX_MIRROR_CORNERS + 1  # the mirror plane + one plane per polygon edge (GL guarantees 8)

SCENE_VERTEX = """
#version 330
#define CLIP @CLIPPING@
#define MAX_CLIP @CLIP@
uniform mat4 u_proj;
uniform mat4 u_view;
uniform mat4 u_reflect;
uniform mat4 u_model;   // a moved rig object's rigid move (identity for everything else)
uniform vec4 u_clip[MAX_CLIP];   // planes on the (reflected) world point; >= 0 is kept
in vec3 in_pos;
in vec3 in_normal;
in vec2 in_uv;
in vec3 in_colour;
in float in_part;
out vec3 v_world;
out vec3 v_normal;
out vec2 v_uv;
out vec3 v_colour;
flat out float v_part;
#if CLIP
out float gl_ClipDistance[MAX_CLIP];
#endif
void main() {
    vec4 moved = u_model * vec4(in_pos, 1.0);
    vec4 world = u_reflect * moved;
    gl_Position = u_proj * (u_view * world);
#if CLIP
    for (int i = 0; i < MAX_CLIP; ++i) gl_ClipDistance[i] = dot(u_clip[i], world);
#endif
    v_world = moved.xyz;
    v_normal = mat3(u_model) * in_normal;
    v_uv = in_uv;
    v_colour = in_colour;
    v_part = in_part;
}
"""

SCENE_FRAGMENT = """
#version 330
#define NLIGHTS @NLIGHTS@
in vec3 v_world;
in vec3 v_normal;
in vec2 v_uv;
in vec3 v_colour;
flat in float v_part;

uniform vec3 u_colour;            // linear albedo
uniform bool u_vertex_colour;     // albedo from the (linear) vertex colours: the mouse
uniform bool u_two_sided;         // flip normals that face away from the viewer (thin rig parts)
uniform bool u_has_texture;
uniform sampler2D u_texture;
uniform float u_tile;             // metres per texture repeat
uniform float u_shininess;        // Blinn-Phong exponent (from the material's roughness)
uniform float u_specular;         // highlight strength, including the exponent's normalization
uniform float u_opacity;
uniform vec3 u_emission;          // linear
uniform float u_part;             // part id for meshes without vertex parts (0: not the mouse)
uniform vec3 u_view_pos;          // camera centre (a mirror pass: the camera reflected in the mirror)
uniform vec2 u_depth_range;       // near, far of the projection (camera z from gl_FragCoord.z)

uniform vec3 u_ambient;
uniform vec3 u_light_pos[NLIGHTS + 1];
uniform vec3 u_light_dir[NLIGHTS + 1];      // from the light towards its target
uniform vec3 u_light_rgb[NLIGHTS + 1];      // linear colour * intensity
uniform vec3 u_light_cone[NLIGHTS + 1];     // cos(outer), cos(inner), reference distance

uniform sampler2DShadow u_shadow_static;   // the rig, drawn once
uniform sampler2DShadow u_shadow_dynamic;  // the mouse, drawn every frame
uniform mat4 u_shadow_matrix;              // world -> shadow map [0, 1]^3
uniform float u_shadow_offset;             // normal offset, metres

layout(location = 0) out vec4 f_colour;
layout(location = 1) out float f_z;

vec3 to_linear(vec3 c) { return c * c; }  // texture colours: a cheap gamma 2 decode
vec3 to_srgb(vec3 c) { return sqrt(clamp(c, 0.0, 1.0)); }  // gamma 2 encode (close to sRGB)

float shadow_factor(vec3 p, vec3 n) {
    vec4 s = u_shadow_matrix * vec4(p + n * u_shadow_offset, 1.0);
    vec3 c = s.xyz / s.w;
    if (c.x <= 0.0 || c.x >= 1.0 || c.y <= 0.0 || c.y >= 1.0 || c.z >= 1.0) return 1.0;
    return min(texture(u_shadow_static, c), texture(u_shadow_dynamic, c));
}

vec3 light_term(vec3 n, vec3 v, vec3 l, vec3 rgb, float atten, vec3 albedo) {
    float ndl = max(dot(n, l), 0.0);
    vec3 h = normalize(l + v);
    float x = max(dot(n, h), 0.0);
    float spec = u_specular * x / (u_shininess - u_shininess * x + x);  // Schlick's pow(x, shininess)
    return rgb * (atten * ndl) * (albedo + vec3(spec));
}

float point_falloff(int i, out vec3 l) {
    vec3 d = u_light_pos[i] - v_world;
    float dist = length(d);
    l = d / dist;
    float r = u_light_cone[i].z / dist;
    return r * r;
}

float spot_cone(int i, vec3 l) {
    return smoothstep(u_light_cone[i].x, u_light_cone[i].y, dot(-l, u_light_dir[i]));
}

void main() {
    vec3 n = normalize(v_normal);
    vec3 v = normalize(u_view_pos - v_world);
    if (u_two_sided && dot(n, v) < 0.0) n = -n;
    vec3 albedo = u_vertex_colour ? v_colour : u_colour;
    if (u_has_texture) albedo *= to_linear(texture(u_texture, v_uv / u_tile).rgb);
    vec3 colour = u_ambient * albedo + u_emission;
    vec3 l;
    float a;
@LIGHTS@
    f_colour = vec4(to_srgb(colour), u_vertex_colour ? v_part / 255.0 : u_part / 255.0);
    if (u_opacity < 1.0) f_colour.a = u_opacity;  // drawn with blending that keeps the part id channel
    float z_ndc = 2.0 * gl_FragCoord.z - 1.0;
    float near = u_depth_range.x, far = u_depth_range.y;
    f_z = 2.0 * near * far / (far + near - z_ndc * (far - near));
}
"""

SHADOW_VERTEX = """
#version 330
uniform mat4 u_light_vp;
in vec3 in_pos;
void main() { gl_Position = u_light_vp * vec4(in_pos, 1.0); }
"""

SHADOW_FRAGMENT = """
#version 330
void main() {}
"""

MIRROR_VERTEX = """
#version 330
uniform mat4 u_proj;
uniform mat4 u_view;
in vec3 in_pos;
void main() { gl_Position = u_proj * u_view * vec4(in_pos, 1.0); }
"""

MIRROR_FRAGMENT = """
#version 330
uniform vec4 u_colour;
layout(location = 0) out vec4 f_colour;
void main() { f_colour = u_colour; }
"""


def scene_vertex_source(clipping: bool) -> str:
    """The scene vertex shader, with ``gl_ClipDistance`` planes (mirror passes) or without (direct pass)."""
    return SCENE_VERTEX.replace("@CLIP@", str(MAX_CLIP_PLANES)).replace("@CLIPPING@", str(int(clipping)))


def scene_fragment_source(light_kinds: tuple[str, ...], shadow_index: int) -> str:
    """The scene fragment shader for non-ambient lights of ``light_kinds`` (``directional``, ``point``,
    ``spot``, in uniform-array order); light ``shadow_index`` (or none if -1) casts shadows."""
    lines = []
    for i, kind in enumerate(light_kinds):
        shadow = " * shadow_factor(v_world, n)" if i == shadow_index else ""
        if kind == "directional":
            lines.append(f"    l = -u_light_dir[{i}]; a = 1.0{shadow};")
        elif kind == "point":
            lines.append(f"    a = point_falloff({i}, l){shadow};")
        elif kind == "spot":
            lines.append(f"    a = point_falloff({i}, l) * spot_cone({i}, l){shadow};")
        else:
            raise ValueError(f"unknown light kind {kind!r}")
        lines.append(f"    colour += light_term(n, v, l, u_light_rgb[{i}], a, albedo);")
    return SCENE_FRAGMENT.replace("@NLIGHTS@", str(max(len(light_kinds), 1))).replace("@LIGHTS@", "\n".join(lines))
