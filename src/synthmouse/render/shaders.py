"""GLSL sources of the moderngl renderer (:mod:`synthmouse.render.gl`).

One shading program draws the rig and the mouse, directly and reflected in mirrors:

* vertex positions are world coordinates; ``u_reflect`` is identity, or a mirror's reflection for a mirror pass;
* outputs: location 0 ``RGBA8`` = sRGB colour + body-part id / 255 in alpha; location 1 ``R32F`` = depth along
  the camera's z axis in metres (for a mirror pass: the reflected point's depth, the apparent distance);
* lighting: ambient + up to :data:`MAX_LIGHTS` directional / point / spot lights (Lambert + normalized
  Blinn-Phong), computed in linear light on the real (unreflected) surface; one light may cast shadows through a
  depth map (4-tap percentage-closer filtering);
* mirrors: in the direct pass a fragment hidden behind a mirror (behind its plane, seen through its polygon) is
  discarded; in a mirror pass only fragments in front of the mirror whose reflection is seen through the polygon
  are kept.
"""

MAX_LIGHTS = 8
MAX_MIRRORS = 4
MAX_MIRROR_CORNERS = 8

SCENE_VERTEX = """
#version 330
uniform mat4 u_proj;
uniform mat4 u_view;
uniform mat4 u_reflect;
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
out float v_zcam;
void main() {
    vec4 eye = u_view * (u_reflect * vec4(in_pos, 1.0));
    gl_Position = u_proj * eye;
    v_world = in_pos;
    v_normal = in_normal;
    v_uv = in_uv;
    v_colour = in_colour;
    v_part = in_part;
    v_zcam = -eye.z;
}
"""

SCENE_FRAGMENT = """
#version 330
#define MAX_LIGHTS @LIGHTS@
#define MAX_MIRRORS @MIRRORS@
#define MAX_CORNERS @CORNERS@
in vec3 v_world;
in vec3 v_normal;
in vec2 v_uv;
in vec3 v_colour;
flat in float v_part;
in float v_zcam;

uniform vec3 u_colour;            // linear albedo
uniform bool u_vertex_colour;     // albedo from the vertex colours (the mouse)
uniform bool u_two_sided;         // flip normals that face away from the viewer (thin rig parts)
uniform bool u_has_texture;
uniform sampler2D u_texture;
uniform float u_tile;             // metres per texture repeat
uniform float u_roughness;
uniform float u_specular;
uniform float u_opacity;
uniform vec3 u_emission;          // linear
uniform float u_part;             // part id for meshes without vertex parts (0: not the mouse)
uniform vec3 u_view_pos;          // camera centre (a mirror pass: the camera reflected in the mirror)

uniform vec3 u_ambient;
uniform int u_nlights;
uniform int u_light_type[MAX_LIGHTS];      // 1 directional, 2 point, 3 spot
uniform vec3 u_light_pos[MAX_LIGHTS];
uniform vec3 u_light_dir[MAX_LIGHTS];      // from the light towards its target
uniform vec3 u_light_rgb[MAX_LIGHTS];      // linear colour * intensity
uniform vec3 u_light_cone[MAX_LIGHTS];     // cos(outer), cos(inner), reference distance

uniform int u_shadow_light;                // index of the shadow-casting light or -1
uniform sampler2DShadow u_shadow_map;
uniform mat4 u_shadow_matrix;              // world -> shadow map [0, 1]^3
uniform float u_shadow_offset;             // normal offset, metres
uniform vec2 u_shadow_texel;

uniform int u_clip_mode;                   // 0: direct pass, 1: mirror pass
uniform int u_nclip;
uniform vec4 u_clip_plane[MAX_MIRRORS];    // n, -n.p (front side > 0)
uniform vec3 u_clip_origin[MAX_MIRRORS];
uniform vec3 u_clip_e1[MAX_MIRRORS];
uniform vec3 u_clip_e2[MAX_MIRRORS];
uniform int u_clip_ncorners[MAX_MIRRORS];
uniform vec2 u_clip_poly[MAX_MIRRORS * MAX_CORNERS];   // counter-clockwise in (e1, e2)

layout(location = 0) out vec4 f_colour;
layout(location = 1) out float f_z;

vec3 to_linear(vec3 c) { return pow(c, vec3(2.2)); }
vec3 to_srgb(vec3 c) {
    c = clamp(c, 0.0, 1.0);
    return mix(c * 12.92, 1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055, step(0.0031308, c));
}

bool sees_through_polygon(int m, vec3 from, vec3 to) {
    // does the segment from -> to cross mirror m's plane inside its polygon?
    float da = dot(u_clip_plane[m].xyz, from) + u_clip_plane[m].w;
    float db = dot(u_clip_plane[m].xyz, to) + u_clip_plane[m].w;
    if (da * db >= 0.0) return false;
    vec3 x = from + (da / (da - db)) * (to - from) - u_clip_origin[m];
    vec2 p = vec2(dot(x, u_clip_e1[m]), dot(x, u_clip_e2[m]));
    int n = u_clip_ncorners[m];
    for (int i = 0; i < MAX_CORNERS; ++i) {
        if (i >= n) break;
        vec2 a = u_clip_poly[m * MAX_CORNERS + i];
        vec2 b = u_clip_poly[m * MAX_CORNERS + (i + 1) % n];
        vec2 e = b - a;
        vec2 r = p - a;
        if (e.x * r.y - e.y * r.x < 0.0) return false;
    }
    return true;
}

float shadow_factor(vec3 p, vec3 n) {
    vec4 s = u_shadow_matrix * vec4(p + n * u_shadow_offset, 1.0);
    vec3 c = s.xyz / s.w;
    if (c.x <= 0.0 || c.x >= 1.0 || c.y <= 0.0 || c.y >= 1.0 || c.z >= 1.0) return 1.0;
    float lit = 0.0;
    lit += texture(u_shadow_map, vec3(c.xy + vec2(-0.5, -0.5) * u_shadow_texel, c.z));
    lit += texture(u_shadow_map, vec3(c.xy + vec2(0.5, -0.5) * u_shadow_texel, c.z));
    lit += texture(u_shadow_map, vec3(c.xy + vec2(-0.5, 0.5) * u_shadow_texel, c.z));
    lit += texture(u_shadow_map, vec3(c.xy + vec2(0.5, 0.5) * u_shadow_texel, c.z));
    return lit * 0.25;
}

void main() {
    if (u_clip_mode == 1) {
        if (dot(u_clip_plane[0].xyz, v_world) + u_clip_plane[0].w <= 0.0) discard;
        if (!sees_through_polygon(0, u_view_pos, v_world)) discard;
    } else {
        for (int m = 0; m < MAX_MIRRORS; ++m) {
            if (m >= u_nclip) break;
            if (dot(u_clip_plane[m].xyz, v_world) + u_clip_plane[m].w < 0.0
                && sees_through_polygon(m, u_view_pos, v_world)) discard;
        }
    }
    vec3 n = normalize(v_normal);
    vec3 v = normalize(u_view_pos - v_world);
    if (u_two_sided && dot(n, v) < 0.0) n = -n;
    vec3 albedo = u_vertex_colour ? to_linear(v_colour) : u_colour;
    if (u_has_texture) albedo *= to_linear(texture(u_texture, v_uv / u_tile).rgb);
    float shininess = 2.0 / max(pow(u_roughness, 4.0), 1e-4) - 2.0;
    float spec_norm = (shininess + 8.0) / 25.13274;
    vec3 colour = u_ambient * albedo;
    for (int i = 0; i < MAX_LIGHTS; ++i) {
        if (i >= u_nlights) break;
        vec3 l;
        float atten = 1.0;
        if (u_light_type[i] == 1) {
            l = -u_light_dir[i];
        } else {
            vec3 d = u_light_pos[i] - v_world;
            float dist = length(d);
            l = d / dist;
            atten = pow(u_light_cone[i].z / dist, 2.0);
            if (u_light_type[i] == 3) {
                float c = dot(-l, u_light_dir[i]);
                atten *= smoothstep(u_light_cone[i].x, u_light_cone[i].y, c);
            }
        }
        float ndl = dot(n, l);
        if (ndl <= 0.0 || atten <= 0.0) continue;
        if (i == u_shadow_light) atten *= shadow_factor(v_world, n);
        vec3 h = normalize(l + v);
        float spec = u_specular * spec_norm * pow(max(dot(n, h), 0.0), shininess);
        colour += u_light_rgb[i] * atten * ndl * (albedo + vec3(spec));
    }
    colour += u_emission;
    f_colour = vec4(to_srgb(colour), u_vertex_colour ? v_part / 255.0 : u_part / 255.0);
    if (u_opacity < 1.0) f_colour.a = u_opacity;  // drawn with blending that keeps the part id channel
    f_z = v_zcam;
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


def scene_fragment_source() -> str:
    """The scene fragment shader with the array sizes filled in."""
    return (SCENE_FRAGMENT.replace("@LIGHTS@", str(MAX_LIGHTS)).replace("@MIRRORS@", str(MAX_MIRRORS))
            .replace("@CORNERS@", str(MAX_MIRROR_CORNERS)))
