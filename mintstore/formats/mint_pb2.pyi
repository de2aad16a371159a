import builtins
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StudyData(_message.Message):
    __slots__ = ("study_instance_uid", "attributes", "series", "type", "version", "instance_count")
    STUDY_INSTANCE_UID_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_COUNT_FIELD_NUMBER: _ClassVar[int]
    study_instance_uid: str
    attributes: _containers.RepeatedCompositeFieldContainer[AttributeData]
    series: _containers.RepeatedCompositeFieldContainer[SeriesData]
    type: str
    version: str
    instance_count: int
    def __init__(self, study_instance_uid: _Optional[str] = ..., attributes: _Optional[_Iterable[_Union[AttributeData, _Mapping[str, object]]]] = ..., series: _Optional[_Iterable[_Union[SeriesData, _Mapping[str, object]]]] = ..., type: _Optional[str] = ..., version: _Optional[str] = ..., instance_count: _Optional[int] = ...) -> None: ...

class SeriesData(_message.Message):
    __slots__ = ("series_instance_uid", "exclude", "attributes", "normalized_instance_attributes", "instances", "instance_count")
    SERIES_INSTANCE_UID_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    NORMALIZED_INSTANCE_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_COUNT_FIELD_NUMBER: _ClassVar[int]
    series_instance_uid: str
    exclude: str
    attributes: _containers.RepeatedCompositeFieldContainer[AttributeData]
    normalized_instance_attributes: _containers.RepeatedCompositeFieldContainer[AttributeData]
    instances: _containers.RepeatedCompositeFieldContainer[InstanceData]
    instance_count: int
    def __init__(self, series_instance_uid: _Optional[str] = ..., exclude: _Optional[str] = ..., attributes: _Optional[_Iterable[_Union[AttributeData, _Mapping[str, object]]]] = ..., normalized_instance_attributes: _Optional[_Iterable[_Union[AttributeData, _Mapping[str, object]]]] = ..., instances: _Optional[_Iterable[_Union[InstanceData, _Mapping[str, object]]]] = ..., instance_count: _Optional[int] = ...) -> None: ...

class InstanceData(_message.Message):
    __slots__ = ("sop_instance_uid", "exclude", "transfer_syntax_uid", "attributes", "preamble")
    SOP_INSTANCE_UID_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_SYNTAX_UID_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    PREAMBLE_FIELD_NUMBER: _ClassVar[int]
    sop_instance_uid: str
    exclude: str
    transfer_syntax_uid: str
    attributes: _containers.RepeatedCompositeFieldContainer[AttributeData]
    preamble: bytes
    def __init__(self, sop_instance_uid: _Optional[str] = ..., exclude: _Optional[str] = ..., transfer_syntax_uid: _Optional[str] = ..., attributes: _Optional[_Iterable[_Union[AttributeData, _Mapping[str, object]]]] = ..., preamble: _Optional[bytes] = ...) -> None: ...

class AttributeData(_message.Message):
    __slots__ = ("tag", "exclude", "vr", "string_value", "binary_item_id", "items", "bytes", "frame_count", "binary_item_size", "encapsulation", "undefined_length")
    TAG_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_FIELD_NUMBER: _ClassVar[int]
    VR_FIELD_NUMBER: _ClassVar[int]
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    BINARY_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    FRAME_COUNT_FIELD_NUMBER: _ClassVar[int]
    BINARY_ITEM_SIZE_FIELD_NUMBER: _ClassVar[int]
    ENCAPSULATION_FIELD_NUMBER: _ClassVar[int]
    UNDEFINED_LENGTH_FIELD_NUMBER: _ClassVar[int]
    tag: int
    exclude: str
    vr: str
    string_value: str
    binary_item_id: int
    items: _containers.RepeatedCompositeFieldContainer[ItemData]
    bytes: builtins.bytes
    frame_count: int
    binary_item_size: int
    encapsulation: EncapsulationData
    undefined_length: bool
    def __init__(self, tag: _Optional[int] = ..., exclude: _Optional[str] = ..., vr: _Optional[str] = ..., string_value: _Optional[str] = ..., binary_item_id: _Optional[int] = ..., items: _Optional[_Iterable[_Union[ItemData, _Mapping[str, object]]]] = ..., bytes: _Optional[builtins.bytes] = ..., frame_count: _Optional[int] = ..., binary_item_size: _Optional[int] = ..., encapsulation: _Optional[_Union[EncapsulationData, _Mapping[str, object]]] = ..., undefined_length: bool = ...) -> None: ...

class ItemData(_message.Message):
    __slots__ = ("attributes", "undefined_length")
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    UNDEFINED_LENGTH_FIELD_NUMBER: _ClassVar[int]
    attributes: _containers.RepeatedCompositeFieldContainer[AttributeData]
    undefined_length: bool
    def __init__(self, attributes: _Optional[_Iterable[_Union[AttributeData, _Mapping[str, object]]]] = ..., undefined_length: bool = ...) -> None: ...

class EncapsulationData(_message.Message):
    __slots__ = ("offset_table", "frames")
    OFFSET_TABLE_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    offset_table: bytes
    frames: _containers.RepeatedCompositeFieldContainer[FrameFragments]
    def __init__(self, offset_table: _Optional[bytes] = ..., frames: _Optional[_Iterable[_Union[FrameFragments, _Mapping[str, object]]]] = ...) -> None: ...

class FrameFragments(_message.Message):
    __slots__ = ("fragment_lengths",)
    FRAGMENT_LENGTHS_FIELD_NUMBER: _ClassVar[int]
    fragment_lengths: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, fragment_lengths: _Optional[_Iterable[int]] = ...) -> None: ...
